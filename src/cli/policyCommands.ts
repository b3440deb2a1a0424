import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { PolicyAction, PolicyDecision, PolicyQuery } from '../machines/shareSession.ts';
import { examples } from './examples.ts';
import { ExitCodes } from './format.ts';

/** Loaded when a policy verb runs (cedar-wasm is the heaviest module termshare has). */
const cedar = () => import('../adapters/policy/cedar/policySet.ts');

const ACTIONS = [
  'share.start',
  'share.extend',
  'share.switch',
  'handoff.request',
  'approval.decide',
  'share.stop',
  'share.revoke',
  'share.get',
  'share.list',
  'share.link',
  'handoff.get',
  'handoff.release',
  'approval.list',
  'terminal.context',
  'terminal.input',
  'terminal.screen',
  'audit.read',
  'events.read',
] as const satisfies readonly PolicyAction[];

async function checkRequestSchema() {
  const { z } = await import('zod');
  const { Access, Backend, MAX_TTL_SECONDS, Requester, TerminalRef } = await import('../api/schemas.ts');
  const PrincipalSpec = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v;
  const m = /^(human|ai):(.+)$/.exec(v);
  if (m) return { kind: m[1], id: m[2] };
  ctx.addIssue({ code: 'custom', message: 'write a principal as {"kind": "human"|"ai", "id": "..."}, "human:<id>" or "ai:<id>"' });
  return z.NEVER;
  }, Requester);

  /** A dry-run request: what the service would ask the gate. `requester` may also be written `human:<id>` or `ai:<id>`. */
  return z.strictObject({
  action: z.enum(ACTIONS).default('share.start'),
  requester: PrincipalSpec,
  /** Whose the share or handoff is (context.owner), for verbs on what exists. */
  owner: PrincipalSpec.optional(),
  /** A handoff's receiver (context.targetKind, context.isTarget). */
  target: PrincipalSpec.optional(),
  terminal: TerminalRef,
  backend: Backend.default('upterm'),
  access: Access.default('read-only'),
  ttlSeconds: z.number().int().positive().max(MAX_TTL_SECONDS).optional(),
  reason: z.string().max(1000).optional(),
  });
}

type Loaded = { ok: true; text: string | undefined } | { ok: false; error: string };
async function read(file: string, optional: boolean): Promise<Loaded> {
  try {
    return { ok: true, text: await readFile(file, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && optional) return { ok: true, text: undefined };
    return { ok: false, error: `${file}: cannot be read: ${(e as Error).message}` };
  }
}

/** What is wrong, one `error:` line each; with --json a JSON error object on stdout instead. */
const fail = (lines: string[], code = ExitCodes.usage!, json = false) => {
  if (json) console.log(JSON.stringify({ error: { code: 'invalid_request', message: lines.join('; '), exitCode: code, errors: lines } }, null, 2));
  else for (const l of lines) console.error(`error: ${l}`);
  process.exitCode = code;
};

/**
 * `termshare policy validate|check`: local checks of policy and entities files, no service
 * needed. Exit codes: 0 fine (check: allowed, or allowed once approved), 2 a file or request is
 * wrong, 3 check: denied.
 */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('check Cedar policy files locally (no service needed)')
    .addHelpText('after', examples('termshare policy validate examples/policy.cedar --entities examples/entities.json', 'termshare policy check request.json'));

  policy
    .command('validate <file>')
    .description('parse a policy file, read its annotations, validate it against the termshare schema')
    .addHelpText('after', examples('termshare policy validate examples/policy.cedar', 'termshare policy validate examples/policy.cedar --entities examples/entities.json --json'))
    .option('--entities <file>', 'also validate this entities file, and that approver groups have members')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { entities?: string; json?: boolean }) => {
      const { compilePolicies, compileEntities, approverWarnings, describeApproval } = await cedar();
      const text = await read(file, false);
      if (!text.ok) return fail([text.error], undefined, o.json);
      const compiled = compilePolicies(text.text!, file);
      const errors = compiled.ok ? [] : compiled.errors;
      const warnings = compiled.ok ? [...compiled.warnings] : [];
      if (o.entities) {
        const etext = await read(o.entities, false);
        const ents = etext.ok ? compileEntities(etext.text, o.entities) : ({ ok: false, errors: [etext.error] } as const);
        if (!ents.ok) errors.push(...ents.errors);
        else if (compiled.ok) warnings.push(...approverWarnings(compiled.value, ents.value, o.entities));
      }
      const policies = compiled.ok
        ? compiled.value.policies.map((p) => ({ id: p.id, effect: p.effect, at: p.at, ...(p.reason ? { reason: p.reason } : {}), ...(p.approval ? { approval: p.approval } : {}) }))
        : [];
      if (o.json) {
        console.log(JSON.stringify({ ok: errors.length === 0, policies, errors, warnings }, null, 2));
        if (errors.length > 0) process.exitCode = ExitCodes.usage!;
        return;
      }
      for (const w of warnings) console.error(`warning: ${w}`);
      if (errors.length > 0) return fail(errors);
      const width = Math.max(0, ...policies.map((p) => p.id.length));
      console.log(`OK ${file}: ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'}${o.entities ? `, entities ${o.entities}` : ''}`);
      for (const p of policies) {
        const extra = p.approval ? `  needs ${describeApproval(p.approval)}` : p.reason ? `  (${p.reason})` : '';
        console.log(`  ${p.id.padEnd(width)}  ${p.effect.padEnd(6)}${extra}`);
      }
    });

  policy
    .command('check <request>')
    .description('dry run: what the policies decide for a request (a JSON file, or - for stdin)')
    .option('--policy <file>', 'Cedar policy file (default: TERMSHARE_POLICY, or policy.cedar in the state directory)')
    .option('--entities <file>', 'Cedar entities file (default: TERMSHARE_ENTITIES, or entities.json in the state directory)')
    .option('--json', 'print the decision as JSON')
    .addHelpText(
      'after',
      '\nThe request: {"action"?, "requester", "terminal", "backend"?, "access"?, "ttlSeconds"?, "reason"?, "owner"?, "target"?}\n' +
        `  action share.start (default), ${ACTIONS.slice(1).join(', ')};\n` +
        '  owner: whose the share or handoff is (context.owner/isOwner); target: a handoff\'s receiver;\n' +
        '  requester {"kind": "human"|"ai", "id": "..."} or "human:<id>"; backend upterm (default) or tmate;\n' +
        '  access read-only (default) or read-write; ttlSeconds defaults to TERMSHARE_DEFAULT_TTL (1800).\n' +
        'Exit code: 0 allowed (or allowed once approved), 3 denied, 2 a file or the request is wrong.\n' +
        examples(
          `echo '{"requester": "human:alice", "terminal": "tmux:work", "access": "read-write"}' | termshare policy check -`,
          'termshare policy check request.json --policy examples/policy.cedar --entities examples/entities.json --json',
        ),
    )
    .action(async (requestFile: string, o: { policy?: string; entities?: string; json?: boolean }) => {
      const fail_ = (lines: string[]) => fail(lines, undefined, o.json);
      const { compilePolicies, compileEntities, activate, evaluate, describeApproval } = await cedar();
      const { loadConfig } = await import('../config.ts');
      let config;
      try {
        config = loadConfig(process.env);
      } catch (e) {
        return fail_([(e as Error).message]);
      }
      const policyFile = o.policy ?? config.policyFile;
      const entitiesFile = o.entities ?? config.entitiesFile;
      const raw = requestFile === '-' ? { ok: true as const, text: await stdin() } : await read(requestFile, false);
      if (!raw.ok) return fail_([raw.error]);
      let body: unknown;
      try {
        body = JSON.parse(raw.text ?? '');
      } catch (e) {
        return fail_([`${requestFile}: not valid JSON: ${(e as Error).message}`]);
      }
      const req = (await checkRequestSchema()).safeParse(body);
      if (!req.success) return fail_(req.error.issues.map((i) => `${requestFile}: ${i.path.join('.') || 'request'}: ${i.message}`));
      const query: PolicyQuery = { ...req.data, ttlSeconds: req.data.ttlSeconds ?? config.defaultTtlMs / 1000 };

      const [ptext, etext] = await Promise.all([read(policyFile, true), read(entitiesFile, true)]);
      if (!ptext.ok || !etext.ok) return fail_([ptext.ok ? '' : ptext.error, etext.ok ? '' : etext.error].filter(Boolean));
      const ents = compileEntities(etext.text, entitiesFile);
      if (!ents.ok) return fail_(ents.errors);
      let decision: PolicyDecision;
      if (ptext.text === undefined) {
        decision = { decision: 'deny', policies: [], message: `no policy file at ${policyFile}: termshare denies every request until a policy permits it (see examples/policy.cedar)` };
      } else {
        const compiled = compilePolicies(ptext.text, policyFile);
        if (!compiled.ok) return fail_([`${policyFile} is rejected, so the service would keep its previous policies (or deny everything):`, ...compiled.errors]);
        decision = evaluate(activate(compiled.value, ents.value, 'termshare-policy-check'), query, policyFile);
      }
      process.exitCode = decision.decision === 'deny' ? ExitCodes.policy_denied! : 0;
      if (o.json) {
        console.log(JSON.stringify({ request: query, ...decision }, null, 2));
        return;
      }
      const who = `${query.requester.kind}:${query.requester.id}`;
      console.log(`${decision.decision.toUpperCase()}  ${who} ${query.action} ${query.terminal} (${query.access}, ${query.backend}, ${query.ttlSeconds} s)`);
      console.log(`  why        ${decision.message}`);
      console.log(`  policies   ${decision.policies.length > 0 ? decision.policies.join(', ') : '-'}`);
      if (decision.approval) {
        const a = decision.approval;
        console.log(`  approvals  ${describeApproval(a)}`);
        console.log(`             policy ${a.policy}; ${a.approvals} from ${a.approvers.join(', ')}${a.ordered ? ', in order' : ''}; times out after ${a.timeoutMs / 1000} s`);
      }
    });
}

async function stdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
