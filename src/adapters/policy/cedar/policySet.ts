import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { ApprovalRequirement, PolicyDecision, PolicyQuery } from '../../../machines/shareSession.ts';
import { principalOf, SCHEMA_NAME, SCHEMA_TEXT } from './schema.ts';

/**
 * Pure policy handling, no files: compile a policy text (parse, termshare annotations, strict
 * validation against the schema), compile an entities text, and decide a query with both.
 * Every error names `file:line:column` when Cedar gives a place.
 */

export type CompiledPolicy = {
  id: string;
  /** Position in the file (0-based), and so Cedar's own `policy<index>` name. */
  index: number;
  effect: 'permit' | 'forbid';
  text: string;
  /** `file:line:column` of the policy's first character. */
  at: string;
  reason?: string;
  approval?: ApprovalRequirement;
  /** `@record("required")`: what this policy permits is recorded (src/recording). */
  record?: 'required';
};
export type CompiledPolicies = { file: string; policies: CompiledPolicy[]; byId: Map<string, CompiledPolicy> };
/** `stage`: `parse` when the text is not Cedar (or not JSON), `check` when it is but breaks a rule. */
export type Compiled<T> = { ok: true; value: T; warnings: string[] } | { ok: false; errors: string[]; stage: 'parse' | 'check' };

export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 900;
export const MAX_APPROVALS = 100;
export const MAX_APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600;
const APPROVAL_ANNOTATIONS = ['approvals', 'approvers', 'approval_ordered', 'approval_timeout'] as const;

/** Maps Cedar's byte offsets to `file:line:column` (1-based, columns in characters). */
class Locator {
  private readonly lineStarts: number[] = [0];
  constructor(
    readonly file: string,
    private readonly text: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }
  /** `base` is where `within` starts in the file (in characters); `byte` a byte offset into `within`. */
  at(byte: number, within = this.text, base = 0): string {
    const offset = base + charOffset(within, byte);
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return `${this.file}:${lo + 1}:${offset - this.lineStarts[lo]! + 1}`;
  }
}

function charOffset(s: string, byte: number): number {
  if (Buffer.byteLength(s) === s.length) return Math.min(byte, s.length);
  return Buffer.from(s, 'utf8').subarray(0, byte).toString('utf8').length;
}

/**
 * Where each policy of a (parsed) policy text starts and ends: policies end at a `;` outside
 * strings and `//` comments. Cedar's text-to-parts answer is sorted by name, not by place, so
 * this is how a policy is tied to its line and to Cedar's `policy<N>` name.
 */
function policySpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '/' && text[i + 1] === '/') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (c === '"') {
      if (start < 0) start = i;
      for (i++; i < text.length && text[i] !== '"'; ) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      if (start < 0) start = i;
      if (c === ';') {
        spans.push({ start, end: i + 1 });
        start = -1;
      }
      i++;
    }
  }
  return spans;
}

function describe(e: cedar.DetailedError, where?: (byte: number) => string): string {
  const loc = e.sourceLocations?.[0];
  const label = loc?.label ? `: ${loc.label}` : '';
  const help = e.help ? ` (${e.help})` : '';
  const message = e.message.replace(/^failed to parse (policies|policy|entities) from string: /, '');
  return `${loc && where ? `${where(loc.start)}: ` : ''}${message}${label}${help}`;
}

/** Parses a policy text, reads termshare's annotations and validates it (strict) against the schema. */
export function compilePolicies(text: string, file: string): Compiled<CompiledPolicies> {
  const loc = new Locator(file, text);
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') return { ok: false, stage: 'parse', errors: parts.errors.map((e) => describe(e, (b) => loc.at(b))) };
  if (parts.policy_templates.length > 0) {
    const at = (t: string) => (text.indexOf(t) >= 0 ? loc.at(Buffer.byteLength(text.slice(0, text.indexOf(t)))) : file);
    return { ok: false, stage: 'check', errors: parts.policy_templates.map((t) => `${at(t)}: policy templates (?principal, ?resource) are not supported; write plain policies`) };
  }
  const spans = policySpans(text);
  const texts = spans.map((s) => text.slice(s.start, s.end));
  if (texts.length !== parts.policies.length || [...texts].sort().join('\0') !== [...parts.policies].sort().join('\0')) {
    // Should not happen; if the splitting above ever disagrees with Cedar, fail closed and say so.
    return { ok: false, stage: 'parse', errors: [`${file}: cannot tell where each policy starts (${texts.length} found, Cedar sees ${parts.policies.length}); please report this file`] };
  }

  const errors: string[] = [];
  const warnings: string[] = [];
  const policies: CompiledPolicy[] = [];
  const byId = new Map<string, CompiledPolicy>();
  texts.forEach((src, index) => {
    const base = spans[index]!.start;
    const at = loc.at(0, src, base);
    /** Points at `@name` when the policy text has it, else at the policy. */
    const atAnnotation = (name: string) => {
      const m = new RegExp(`@${name}\\b`).exec(src);
      return m ? loc.at(Buffer.byteLength(src.slice(0, m.index)), src, base) : at;
    };
    const json = cedar.policyToJson(src);
    if (json.type === 'failure') {
      errors.push(...json.errors.map((e) => describe(e, (b) => loc.at(b, src, base))));
      return;
    }
    const ann = (json.json.annotations ?? {}) as Record<string, string | null>;
    const id = ann.id ?? `policy${index}`;
    const fail = (name: string, message: string) => errors.push(`${atAnnotation(name)}: policy ${id}: ${message}`);
    for (const name of ['id', 'reason', ...APPROVAL_ANNOTATIONS]) {
      if (name in ann && (ann[name] === null || ann[name]!.trim() === '')) fail(name, `@${name} needs a value, e.g. @${name}("...")`);
    }
    for (const name of Object.keys(ann)) {
      if (/^approv/i.test(name) && !(APPROVAL_ANNOTATIONS as readonly string[]).includes(name)) {
        fail(name, `unknown annotation @${name}; termshare reads ${APPROVAL_ANNOTATIONS.map((a) => `@${a}`).join(', ')}`);
      }
    }
    if (byId.has(id)) fail('id', `the id ${id} is already used by the policy at ${byId.get(id)!.at}; give each policy its own @id`);
    const effect = json.json.effect;
    const policy: CompiledPolicy = { id, index, effect, text: src, at, reason: ann.reason ?? undefined };
    const approval = approvalOf(id, effect, ann, fail, warnings, atAnnotation);
    if (approval) policy.approval = approval;
    if ('record' in ann) {
      if (ann.record !== 'required') fail('record', `@record takes "required" (the share or lease it permits is recorded), not ${JSON.stringify(ann.record)}`);
      else if (effect === 'forbid') fail('record', 'a forbid records nothing; put @record("required") on a permit');
      else policy.record = 'required';
    }
    policies.push(policy);
    if (!byId.has(id)) byId.set(id, policy);
  });
  // Validated under Cedar's own names (policy<N>), so that a duplicate @id does not hide other mistakes.
  const record = Object.fromEntries(policies.map((p) => [`policy${p.index}`, p.text]));
  const answer = cedar.validate({ schema: SCHEMA_TEXT, policies: { staticPolicies: record }, validationSettings: { mode: 'strict' } });
  if (answer.type === 'failure') return { ok: false, stage: 'check', errors: [...errors, ...answer.errors.map((e) => `${file}: ${describe(e)}`)] };
  const located = (list: cedar.ValidationError[]) =>
    list.map(({ policyId, error }) => {
      const p = policies.find((q) => `policy${q.index}` === policyId);
      // Cedar reports a context mistake once per action the policy may apply to: `byPlace` says it once.
      const message = error.message.replace(/^for policy `[^`]*`, /, '').replace(/ for Action::"[^"]*"/, '');
      const start = error.sourceLocations?.[0]?.start;
      const where = p && start !== undefined ? loc.at(start, p.text, spans[p.index]!.start) : (p?.at ?? file);
      return `${where}: policy ${p?.id ?? policyId}: ${message}${error.help ? ` (${error.help})` : ''}`;
    });
  // A policy that can never apply is almost surely a mistake (a forbid that protects nothing): refuse it.
  // (Said only for policies without a more precise error: that error is the reason.)
  const erring = new Set(answer.validationErrors.map((v) => v.policyId));
  const impossible = (v: cedar.ValidationError) => /policy is impossible|unable to find an applicable action/.test(v.error.message);
  errors.push(...located([...answer.validationErrors, ...answer.validationWarnings.filter((v) => impossible(v) && !erring.has(v.policyId))]));
  if (errors.length > 0) return { ok: false, stage: 'check', errors: byPlace(errors) };
  warnings.push(...located(answer.validationWarnings.filter((v) => !impossible(v) && !erring.has(v.policyId))), ...answer.otherWarnings.map((e) => `${file}: ${describe(e)}`));
  return { ok: true, value: { file, policies, byId }, warnings: byPlace(warnings) };
}

/** Messages that start with `file:line:column`, in file order, each once. */
function byPlace(lines: string[]): string[] {
  const place = (l: string) => {
    const m = /:(\d+):(\d+): /.exec(l);
    return m ? Number(m[1]) * 1e6 + Number(m[2]) : 0;
  };
  return [...new Set(lines)].sort((a, b) => place(a) - place(b));
}

/**
 * The approval requirement a policy's annotations ask for, or none. The grammar:
 * `@approvals("N")` (whole number 0..100; 0 or absent: none), `@approvers("g1,g2")` (Group ids,
 * comma-separated, required when N > 0), `@approval_ordered("true"|"false")` (default false),
 * `@approval_timeout("S")` (seconds, 1..604800, default 900). Only a permit may carry them.
 */
function approvalOf(
  id: string,
  effect: 'permit' | 'forbid',
  ann: Record<string, string | null>,
  fail: (name: string, message: string) => void,
  warnings: string[],
  atAnnotation: (name: string) => string,
): ApprovalRequirement | undefined {
  const present = APPROVAL_ANNOTATIONS.filter((a) => typeof ann[a] === 'string' && ann[a]!.trim() !== '');
  if (present.length === 0) return undefined;
  if (effect === 'forbid') {
    fail(present[0]!, `a forbid cannot ask for approvals (@${present.join(', @')}); put them on a permit`);
    return undefined;
  }
  const raw = (name: (typeof APPROVAL_ANNOTATIONS)[number]) => ann[name]?.trim();
  const n = raw('approvals');
  if (n !== undefined && (!/^\d+$/.test(n) || Number(n) > MAX_APPROVALS)) {
    fail('approvals', `@approvals("${n}") must be a whole number from 0 to ${MAX_APPROVALS}`);
    return undefined;
  }
  const approvals = n === undefined ? 0 : Number(n);
  if (approvals === 0) {
    const idle = present.filter((a) => a !== 'approvals');
    if (idle.length > 0) {
      const why = n === undefined ? 'without @approvals("N"); add @approvals or remove it' : 'with @approvals("0"); remove it or ask for approvals';
      fail(idle[0]!, `@${idle.join(', @')} has no effect ${why}`);
    }
    return undefined;
  }
  let ok = true;
  const groupsText = raw('approvers');
  const approvers = (groupsText ?? '').split(',').map((g) => g.trim());
  if (groupsText === undefined) {
    fail('approvals', `@approvals("${approvals}") needs @approvers("<group>[,<group>...]"): the Group whose members may approve`);
    ok = false;
  } else if (approvers.some((g) => g === '')) {
    fail('approvers', `@approvers("${groupsText}") must list Group ids separated by commas, with none empty`);
    ok = false;
  }
  let ordered = false;
  const o = raw('approval_ordered');
  if (o !== undefined) {
    if (o !== 'true' && o !== 'false') {
      fail('approval_ordered', `@approval_ordered("${o}") must be "true" or "false"`);
      ok = false;
    } else ordered = o === 'true';
  }
  let timeoutSeconds = DEFAULT_APPROVAL_TIMEOUT_SECONDS;
  const t = raw('approval_timeout');
  if (t !== undefined) {
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > MAX_APPROVAL_TIMEOUT_SECONDS) {
      fail('approval_timeout', `@approval_timeout("${t}") must be a whole number of seconds from 1 to ${MAX_APPROVAL_TIMEOUT_SECONDS}`);
      ok = false;
    } else timeoutSeconds = Number(t);
  }
  if (!ok) return undefined;
  if (ordered && approvers.length > approvals) {
    warnings.push(`${atAnnotation('approvers')}: policy ${id}: only the first ${approvals} of the ${approvers.length} ordered approver groups are ever asked`);
  }
  return { policy: id, approvals, approvers, ordered, timeoutMs: timeoutSeconds * 1000 };
}

type Uid = { type: string; id: string };
const uidOf = (u: cedar.EntityUidJson): Uid => ('__entity' in u ? u.__entity : u);
const key = (u: Uid) => `${u.type}::${JSON.stringify(u.id)}`;

/** Parses an entities text (absent: no entities) and validates it against the schema. */
export function compileEntities(text: string | undefined, file: string): Compiled<cedar.EntityJson[]> {
  if (text === undefined || text.trim() === '') return { ok: true, value: [], warnings: [] };
  let entities: unknown;
  try {
    entities = JSON.parse(text);
  } catch (e) {
    return { ok: false, stage: 'parse', errors: [`${file}: not valid JSON: ${(e as Error).message}`] };
  }
  if (!Array.isArray(entities)) return { ok: false, stage: 'parse', errors: [`${file}: must hold a JSON array of Cedar entities, e.g. [{"uid": {"type": "Human", "id": "alice"}, "attrs": {}, "parents": [{"type": "Group", "id": "operators"}]}]`] };
  const answer = cedar.checkParseEntities({ entities: entities as cedar.EntityJson[], schema: SCHEMA_TEXT });
  if (answer.type === 'failure') return { ok: false, stage: 'check', errors: answer.errors.map((e) => `${file}: ${describe(e)}`) };
  return { ok: true, value: entities as cedar.EntityJson[], warnings: [] };
}

/** The Group ids an entity belongs to, directly or through other groups. */
export function groupsIn(entities: cedar.EntityJson[], principal: Uid): string[] {
  const parents = new Map<string, Uid[]>();
  for (const e of entities) parents.set(key(uidOf(e.uid)), (e.parents ?? []).map(uidOf));
  const groups = new Set<string>();
  const seen = new Set<string>([key(principal)]);
  const queue = [...(parents.get(key(principal)) ?? [])];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (seen.has(key(p))) continue;
    seen.add(key(p));
    if (p.type === 'Group') groups.add(p.id);
    queue.push(...(parents.get(key(p)) ?? []));
  }
  return [...groups].sort();
}

/** Warnings for policies that name approver groups nobody is in. */
export function approverWarnings(policies: CompiledPolicies, entities: cedar.EntityJson[], entitiesFile: string): string[] {
  const populated = new Set<string>();
  for (const e of entities) {
    const u = uidOf(e.uid);
    if (u.type === 'Human' || u.type === 'Agent') for (const g of groupsIn(entities, u)) populated.add(g);
  }
  return policies.policies.flatMap((p) =>
    (p.approval?.approvers ?? [])
      .filter((g) => !populated.has(g))
      .map((g) => `${p.at}: policy ${p.id}: approver group ${g} has no members in ${entitiesFile}, so nobody can approve what it asks for`),
  );
}

/** Policies and entities, loaded into Cedar under `slot` (one slot per gate: loading again replaces it). */
export type PolicyEngine = {
  policies: CompiledPolicies;
  entities: cedar.EntityJson[];
  slot: string;
  /** The context attributes some policy reads; 'all' when one reads the context otherwise than by name. */
  contextRead: ReadonlySet<string> | 'all';
};

export function activate(policies: CompiledPolicies, entities: cedar.EntityJson[], slot: string): PolicyEngine {
  const loaded = cedar.preparsePolicySet(slot, { staticPolicies: Object.fromEntries(policies.policies.map((p) => [p.id, p.text])) });
  if (loaded.type === 'failure') throw new Error(`Cedar refused policies it had validated: ${loaded.errors.map((e) => e.message).join('; ')}`);
  return { policies, entities, slot, contextRead: contextReadBy(policies.policies) };
}

/**
 * The context attributes the policies read, by `context.<name>` or `context has <name>`. Any
 * other mention of `context` (a comment included) gives 'all': then every attribute counts.
 */
export function contextReadBy(policies: CompiledPolicy[]): ReadonlySet<string> | 'all' {
  const read = new Set<string>();
  for (const p of policies) {
    const mentions = p.text.match(/\bcontext\b/g)?.length ?? 0;
    let named = 0;
    for (const m of p.text.matchAll(/\bcontext\s*(?:\.\s*|\s+has\s+)([A-Za-z_][A-Za-z0-9_]*)/g)) {
      read.add(m[1]!);
      named += 1;
    }
    if (named !== mentions) return 'all';
  }
  return read;
}

/**
 * All a decision under `engine` depends on: principal, action, resource and the context
 * attributes the policies read (the entities are the engine's). Equal keys, equal decisions; so
 * a list of many shares asks Cedar once per distinct key, not once per share.
 */
export function decisionKey(engine: PolicyEngine, q: PolicyQuery): string {
  const context = contextOf(q);
  const read = engine.contextRead;
  const kept = read === 'all' ? context : Object.fromEntries(Object.entries(context).filter(([k]) => read.has(k)));
  return JSON.stringify([principalOf(q.requester), q.action, resourceOf(q), kept]);
}

/**
 * Actions on something other than one terminal: the whole audit trail (`audit.read`) and the
 * stream of events and badge changes (`events.read`).
 */
const WHOLE: Partial<Record<PolicyQuery['action'], { type: string; id: string }>> = {
  'audit.read': { type: 'AuditTrail', id: 'termshare' },
  'events.read': { type: 'EventStream', id: 'termshare' },
};
const resourceOf = (q: PolicyQuery) => WHOLE[q.action] ?? { type: 'Terminal', id: q.terminal };

/** The context every request carries: exactly the schema's `RequestContext`. */
export const contextOf = (q: PolicyQuery) => ({
  backend: q.backend,
  access: q.access,
  ttlSeconds: q.ttlSeconds,
  reason: q.reason ?? '',
  requesterKind: q.requester.kind,
  targetKind: q.target?.kind ?? '',
  owner: q.owner ? `${q.owner.kind}:${q.owner.id}` : '',
  isOwner: q.owner !== undefined && q.owner.kind === q.requester.kind && q.owner.id === q.requester.id,
  isTarget: q.owner !== undefined && q.target !== undefined && q.target.kind === q.requester.kind && q.target.id === q.requester.id,
});

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What an approval requirement asks for, in words. */
export function describeApproval(a: ApprovalRequirement): string {
  const within = `within ${a.timeoutMs / 1000} s`;
  if (!a.ordered || a.approvers.length === 1) {
    return `${plural(a.approvals, 'approval')} from members of ${a.approvers.join(' or ')} (${within})`;
  }
  const steps = Array.from({ length: a.approvals }, (_, i) => a.approvers[Math.min(i, a.approvers.length - 1)]!);
  return `${plural(a.approvals, 'approval')} in order: ${steps.join(', then ')} (${within})`;
}

/** Strictest first: most approvals; on a tie ordered before unordered, then the first in the file. */
const stricter = (a: CompiledPolicy, b: CompiledPolicy) =>
  b.approval!.approvals - a.approval!.approvals || Number(b.approval!.ordered) - Number(a.approval!.ordered) || a.index - b.index;

/**
 * Deny by default; a forbid overrides any permit. A request that only permits with approvals
 * match gets `approval` with the strictest of them; any plain permit makes it `allow`.
 */
export function evaluate(engine: PolicyEngine, q: PolicyQuery, policyFile: string): PolicyDecision {
  const principal = principalOf(q.requester);
  const answer = cedar.statefulIsAuthorized({
    principal,
    action: { type: 'Action', id: q.action },
    resource: resourceOf(q),
    context: contextOf(q),
    preparsedPolicySetId: engine.slot,
    preparsedSchemaName: SCHEMA_NAME,
    validateRequest: true,
    entities: engine.entities,
  });
  if (answer.type === 'failure') {
    return { decision: 'deny', policies: [], message: `policy evaluation failed: ${answer.errors.map((e) => e.message).join('; ')}` };
  }
  const { decision, diagnostics } = answer.response;
  const matched = diagnostics.reason
    .map((id) => engine.policies.byId.get(id))
    .filter((p): p is CompiledPolicy => p !== undefined)
    .sort((a, b) => a.index - b.index);
  const who = `${principal.type}::"${principal.id}"`;
  if (decision === 'allow') {
    const plain = matched.filter((p) => !p.approval);
    const record = matched.some((p) => p.record) ? { record: 'required' as const } : {};
    if (plain.length > 0) return { decision: 'allow', policies: plain.map((p) => p.id), message: `permitted by ${plain.map((p) => p.id).join(', ')}`, ...record };
    const [chosen, ...others] = [...matched].sort(stricter);
    if (!chosen) return { decision: 'deny', policies: [], message: 'Cedar allowed without naming a policy; denied to be safe' };
    return {
      decision: 'approval',
      policies: [chosen.id, ...others.map((p) => p.id)],
      approval: chosen.approval,
      message: `policy ${chosen.id} permits this once it has ${describeApproval(chosen.approval!)}`,
      ...record,
    };
  }
  if (matched.length > 0) {
    const why = matched.map((p) => (p.reason ? `${p.id} (${p.reason})` : p.id)).join(', ');
    return { decision: 'deny', policies: matched.map((p) => p.id), message: `forbidden by policy ${why}` };
  }
  return {
    decision: 'deny',
    policies: [],
    message:
      WHOLE[q.action]
        ? `no policy permits ${who} to ${q.action} ${WHOLE[q.action]!.type}::"termshare"; add a permit to ${policyFile}`
        : `no policy permits ${who} to ${q.action} ${q.terminal} (${q.access}, ${q.backend}, ${q.ttlSeconds} s); add a permit to ${policyFile}`,
  };
}
