import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Requester } from '../../../api/schemas.ts';
import { coalesced } from '../../coalesce.ts';
import type { Logger } from '../../../log.ts';
import type { PolicyDecision, PolicyGate, PolicyQuery } from '../types.ts';
import { activate, approverWarnings, compileEntities, compilePolicies, decisionKey, evaluate, groupsIn, type PolicyEngine } from './policySet.ts';
import { principalOf } from './schema.ts';

/**
 * What a (re)load of the policy and entities files came to. `ok: false`: the files were
 * rejected and the previous policies stay in force (none at all before the first good load:
 * then every request is denied, saying why).
 */
export type ReloadResult = { ok: true; policies: string[]; warnings?: string[] } | { ok: false; errors: string[] };

export type CedarGateOptions = {
  /** Called after every load that found the files changed, the first load included. */
  onReload?: (result: ReloadResult) => void;
  /** Watch both files' directories and reload on change (default true). Requests also check the files' mtimes. */
  watch?: boolean;
  /** Quiet time after a file event before reading (default 50 ms): editors write in several steps. */
  debounceMs?: number;
};

type Signature = string;
type Text = string | undefined;

let slots = 0;

/**
 * Cedar policy gate: `policyFile` (Cedar, validated against `schema.cedarschema`) decides,
 * `entitiesFile` (Cedar entities JSON) says who is in which Group. Deny by default.
 *
 * Hot reload: a changed file that is valid is swapped in for the next request; an invalid one
 * keeps the previous policies, logs the errors with line numbers and reports them to `onReload`.
 * No policy file at all denies everything.
 */
export class CedarPolicyGate implements PolicyGate {
  onReload?: (result: ReloadResult) => void;
  private readonly slot = `termshare-gate-${++slots}`;
  /** The policies and entities in force: the last good load. */
  private engine?: PolicyEngine;
  /** The last good load found no policy file: everything is denied. */
  private missingPolicy = false;
  /** Why everything is denied while no permitting policy set was ever loaded (or since the file went away). */
  private failure?: string;
  private seen?: { policy: Signature; entities: Signature; policyText: Text; entitiesText: Text };
  /** Loads run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A load queued on a change but not started yet: more changes seen meanwhile join it. */
  private queued?: Promise<ReloadResult | undefined>;
  private watchers: FSWatcher[] = [];
  /** Both files' stats, read once for all the decisions asked at the same time (a list of N shares is 2N decisions). */
  private readonly signatures = coalesced(() => Promise.all([signature(this.policyFile), signature(this.entitiesFile)]));
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly policyFile: string,
    private readonly entitiesFile: string,
    private readonly log?: Logger,
    private readonly opts: CedarGateOptions = {},
  ) {
    this.onReload = opts.onReload;
    if (opts.watch ?? true) this.startWatching();
    void this.refresh(false);
  }

  async decide(q: PolicyQuery): Promise<PolicyDecision> {
    await this.current();
    if (this.failure) return { decision: 'deny', policies: [], message: this.failure };
    if (!this.engine || this.missingPolicy) return { decision: 'deny', policies: [], message: this.noPolicyFile() };
    return evaluate(this.engine, q, this.policyFile);
  }

  /** For each query, whether it is allowed outright; one policy set for all, and Cedar asked once per distinct decision. */
  async permitsAll(queries: PolicyQuery[]): Promise<boolean[]> {
    await this.current();
    const engine = this.engine;
    if (this.failure || !engine || this.missingPolicy) return queries.map(() => false);
    const decided = new Map<string, boolean>();
    return queries.map((q) => {
      const key = decisionKey(engine, q);
      let allowed = decided.get(key);
      if (allowed === undefined) decided.set(key, (allowed = evaluate(engine, q, this.policyFile).decision === 'allow'));
      return allowed;
    });
  }

  /**
   * May `approver` decide approvals for requests like `query`? The policies answer, for
   * `approval.decide` on the query's terminal. A permit that would itself need approvals does
   * not count: approving cannot wait for approvals.
   */
  async canDecide(approver: Pick<Requester, 'kind' | 'id'>, query: PolicyQuery): Promise<PolicyDecision> {
    const d = await this.decide({ ...query, action: 'approval.decide', requester: { kind: approver.kind, id: approver.id } });
    if (d.decision !== 'approval') return d;
    return {
      decision: 'deny',
      policies: d.policies,
      message: `policy ${d.policies.join(', ')} permits approval.decide only with approvals, which cannot be; permit approval.decide without @approvals`,
    };
  }

  /** The Group ids `principal` belongs to in the entities file, directly or through other groups (sorted). */
  async groupsOf(principal: Pick<Requester, 'kind' | 'id'>): Promise<string[]> {
    await this.current();
    return groupsIn(this.engine?.entities ?? [], principalOf(principal));
  }

  /** The ids of the policies in force, in file order (none when everything is denied). */
  async policies(): Promise<string[]> {
    await this.current();
    return this.failure || this.missingPolicy ? [] : (this.engine?.policies.policies.map((p) => p.id) ?? []);
  }

  /** Reads and compiles both files again now, changed or not; reports to `onReload` too. */
  async reload(): Promise<ReloadResult> {
    return (await this.refresh(true))!;
  }

  /** Stops watching the files. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private noPolicyFile() {
    return `no policy file at ${this.policyFile}: termshare denies every request until a policy permits it (see examples/policy.cedar)`;
  }

  private startWatching() {
    const names = new Set([basename(this.policyFile), basename(this.entitiesFile)]);
    for (const dir of new Set([dirname(this.policyFile), dirname(this.entitiesFile)])) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.schedule();
        });
        w.on('error', (e) => this.log?.warn({ dir, err: e.message }, 'policy watcher failed; changes are picked up on the next request'));
        this.watchers.push(w);
      } catch (e) {
        this.log?.warn({ dir, err: (e as Error).message }, 'cannot watch the policy directory; changes are picked up on the next request');
      }
    }
  }

  private schedule() {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(false), this.opts.debounceMs ?? 50);
    this.timer.unref();
  }

  /** Before a request: waits for a load under way, and loads when either file's stat changed. */
  private async current(): Promise<void> {
    await this.queue;
    const [policy, entities] = await this.signatures();
    if (!this.seen || this.seen.policy !== policy || this.seen.entities !== entities) await this.refresh(false);
  }

  /** Queues a load; `force` compiles even when the texts are the ones last seen. */
  private refresh(force: boolean): Promise<ReloadResult | undefined> {
    if (!force && this.queued) return this.queued;
    const p: Promise<ReloadResult | undefined> = this.queue.then(() => {
      if (this.queued === p) this.queued = undefined;
      return this.load(force).catch((e: Error) => this.reject([`cannot load the policies: ${e.message}`], 'read'));
    });
    if (!force) this.queued = p;
    this.queue = p;
    return p;
  }

  /** Reads both files; when their texts changed (or `force`), compiles them and swaps them in if valid. */
  private async load(force: boolean): Promise<ReloadResult | undefined> {
    const [policy, entities] = await Promise.all([signature(this.policyFile), signature(this.entitiesFile)]);
    let policyText: Text;
    let entitiesText: Text;
    try {
      [policyText, entitiesText] = await Promise.all([readIfThere(this.policyFile), readIfThere(this.entitiesFile)]);
    } catch (e) {
      this.seen = { policy, entities, policyText: this.seen?.policyText, entitiesText: this.seen?.entitiesText };
      return this.reject([(e as Error).message], 'read');
    }
    const unchanged = this.seen !== undefined && this.seen.policyText === policyText && this.seen.entitiesText === entitiesText;
    this.seen = { policy, entities, policyText, entitiesText };
    if (unchanged && !force) return undefined;

    const ents = compileEntities(entitiesText, this.entitiesFile);
    if (!ents.ok) return this.reject(ents.errors, 'entities', ents.stage);
    if (policyText === undefined) {
      this.engine = activate({ file: this.policyFile, policies: [], byId: new Map() }, ents.value, this.slot);
      this.missingPolicy = true;
      this.failure = undefined;
      this.log?.warn({ policyFile: this.policyFile }, this.noPolicyFile());
      return this.report({ ok: true, policies: [], warnings: [this.noPolicyFile()] });
    }
    const pols = compilePolicies(policyText, this.policyFile);
    if (!pols.ok) return this.reject(pols.errors, 'policies', pols.stage);
    this.engine = activate(pols.value, ents.value, this.slot);
    this.missingPolicy = false;
    this.failure = undefined;
    const ids = pols.value.policies.map((p) => p.id);
    const warnings = [...pols.warnings, ...ents.warnings, ...approverWarnings(pols.value, ents.value, this.entitiesFile)];
    this.log?.info({ policyFile: this.policyFile, policies: ids }, 'policies loaded');
    for (const w of warnings) this.log?.warn({ policyFile: this.policyFile }, w);
    return this.report(warnings.length > 0 ? { ok: true, policies: ids, warnings } : { ok: true, policies: ids });
  }

  /** Files rejected: the previous policies stay; with none in force, everything is denied, saying why. */
  private reject(errors: string[], what: 'read' | 'entities' | 'policies', stage?: 'parse' | 'check'): ReloadResult {
    const file = what === 'entities' ? this.entitiesFile : this.policyFile;
    const keeps = this.engine !== undefined && !this.missingPolicy && !this.failure;
    this.log?.warn({ file, errors }, keeps ? `${file} rejected; the previous policies stay in force` : `${file} rejected; every request is denied until it is fixed`);
    if (!keeps) {
      const problem = what === 'read' ? 'cannot be read' : stage === 'parse' ? 'does not parse' : 'is not valid';
      this.failure = `the ${what === 'entities' ? 'entities' : 'policy'} file ${file} ${problem}, so termshare denies every request until it is fixed: ${errors.join('; ')}`;
    }
    return this.report({ ok: false, errors });
  }

  private report(result: ReloadResult): ReloadResult {
    try {
      this.onReload?.(result);
    } catch (e) {
      this.log?.error({ err: (e as Error).message }, 'onReload listener threw');
    }
    return result;
  }
}

async function signature(file: string): Promise<Signature> {
  try {
    const s = await stat(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot be read: ${(e as Error).message}`);
  }
}
