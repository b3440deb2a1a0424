import { readFile, stat } from 'node:fs/promises';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { Logger } from '../../../log.ts';
import type { PolicyDecision, PolicyGate, PolicyQuery } from '../types.ts';

type Loaded = {
  mtimeMs: number;
  policies: Record<string, string>;
  annotations: Record<string, Record<string, string>>;
  entities: cedar.EntityJson[];
  error?: string;
};

/**
 * Cedar policy gate. The policy file is re-read when it changes; a file that does not parse
 * denies everything (fail closed) and says why.
 */
export class CedarPolicyGate implements PolicyGate {
  private loaded?: Loaded;
  constructor(
    private readonly policyFile: string,
    private readonly entitiesFile: string,
    private readonly log?: Logger,
  ) {}

  async decide(q: PolicyQuery): Promise<PolicyDecision> {
    const p = await this.load();
    if (p.error) return { decision: 'deny', policies: [], message: p.error };
    const principal = { type: q.requester.kind === 'ai' ? 'Agent' : 'Human', id: q.requester.id };
    const answer = cedar.isAuthorized({
      principal,
      action: { type: 'Action', id: q.action },
      resource: { type: 'Terminal', id: q.terminal },
      context: {
        backend: q.backend,
        access: q.access,
        ttlSeconds: q.ttlSeconds,
        reason: q.reason ?? '',
        requesterKind: q.requester.kind,
      },
      policies: { staticPolicies: p.policies },
      entities: p.entities,
    });
    if (answer.type === 'failure') {
      return { decision: 'deny', policies: [], message: `policy evaluation failed: ${answer.errors.map((e) => e.message).join('; ')}` };
    }
    const { decision, diagnostics } = answer.response;
    const ids = diagnostics.reason;
    const who = `${principal.type}::"${principal.id}"`;
    if (decision === 'allow') {
      const needsApproval = ids.filter((id) => p.annotations[id]?.approvals && p.annotations[id]?.approvals !== '0');
      if (needsApproval.length === ids.length) {
        return {
          decision: 'deny',
          policies: needsApproval,
          message: `policy ${needsApproval.join(', ')} permits this only with approvals, and this service does not run approval chains yet; ask an operator for a policy without @approvals`,
        };
      }
      return { decision: 'allow', policies: ids.filter((id) => !needsApproval.includes(id)), message: `permitted by ${ids.join(', ')}` };
    }
    if (ids.length > 0) {
      const why = ids.map((id) => (p.annotations[id]?.reason ? `${id} (${p.annotations[id]!.reason})` : id)).join(', ');
      return { decision: 'deny', policies: ids, message: `forbidden by policy ${why}` };
    }
    return {
      decision: 'deny',
      policies: [],
      message: `no policy permits ${who} to ${q.action} ${q.terminal} (${q.access}, ${q.backend}, ${q.ttlSeconds} s); add a permit to ${this.policyFile}`,
    };
  }

  private async load(): Promise<Loaded> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.policyFile)).mtimeMs;
    } catch {
      return { mtimeMs: 0, policies: {}, annotations: {}, entities: [], error: `no policy file at ${this.policyFile}: termshare denies every request until a policy permits it (see examples/policy.cedar)` };
    }
    if (this.loaded && this.loaded.mtimeMs === mtimeMs) return this.loaded;
    this.loaded = await this.parse(mtimeMs);
    if (this.loaded.error) this.log?.warn({ policyFile: this.policyFile, error: this.loaded.error }, 'policy file rejected');
    else this.log?.info({ policyFile: this.policyFile, policies: Object.keys(this.loaded.policies) }, 'policies loaded');
    return this.loaded;
  }

  private async parse(mtimeMs: number): Promise<Loaded> {
    const fail = (error: string): Loaded => ({ mtimeMs, policies: {}, annotations: {}, entities: [], error });
    const text = await readFile(this.policyFile, 'utf8');
    const parts = cedar.policySetTextToParts(text);
    if (parts.type === 'failure') return fail(`the policy file ${this.policyFile} does not parse: ${parts.errors.map((e) => e.message).join('; ')}`);
    const policies: Record<string, string> = {};
    const annotations: Record<string, Record<string, string>> = {};
    parts.policies.forEach((src, i) => {
      const json = cedar.policyToJson(src);
      const ann = json.type === 'success' ? ((json.json.annotations ?? {}) as Record<string, string>) : {};
      const id = ann.id ?? `policy${i}`;
      policies[id] = src;
      annotations[id] = ann;
    });
    let entities: cedar.EntityJson[] = [];
    try {
      entities = JSON.parse(await readFile(this.entitiesFile, 'utf8')) as cedar.EntityJson[];
      if (!Array.isArray(entities)) return fail(`${this.entitiesFile} must hold a JSON array of Cedar entities`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return fail(`${this.entitiesFile} is not valid JSON: ${(e as Error).message}`);
    }
    return { mtimeMs, policies, annotations, entities };
  }
}
