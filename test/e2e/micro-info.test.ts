import { hostname } from 'node:os';
import { Svcm, type ServiceInfo, type ServiceStats } from '@nats-io/services';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestSchemas } from '../../src/api/jsonSchema.ts';
import { ReplySchemas } from '../../src/api/replySchemas.ts';
import { Verbs } from '../../src/api/subjects.ts';
import { VERSION } from '../../src/service/service.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'setpriv', 'uptermd');

/** What `nats micro info termshare` and `nats micro stats termshare` show, read with nats.js's own micro client as a principal would. */
describe.skipIf(missing.length > 0)('the termshare NATS micro service, as a monitoring client sees it', () => {
  let h: Harness;
  let micro: ReturnType<Svcm['client']>;
  beforeAll(async () => {
    h = await startHarness();
    micro = new Svcm(h.client.nc).client();
  });
  afterAll(async () => h?.stop());

  const info = async (): Promise<ServiceInfo> => {
    const all: ServiceInfo[] = [];
    for await (const i of await micro.info('termshare')) all.push(i);
    expect(all).toHaveLength(1);
    return all[0]!;
  };
  const stats = async (): Promise<ServiceStats> => {
    const all: ServiceStats[] = [];
    for await (const s of await micro.stats('termshare')) all.push(s);
    expect(all).toHaveLength(1);
    return all[0]!;
  };

  it('info names the version and the node, and each endpoint carries the JSON Schemas of its request, reply and error', async () => {
    const i = await info();
    expect(i.version).toBe(VERSION);
    expect(i.metadata).toMatchObject({ version: VERSION, node: hostname(), prefix: 'termshare' });
    // The public endpoints; each node also serves `node-<verb>` on `termshare.node.<node>.<verb>`, which
    // only the service account may publish to (requests forwarded to the owner in a cluster).
    const forwarded = i.endpoints.filter((e) => e.name.startsWith('node-'));
    expect(forwarded.every((e) => /^termshare\.node\.[A-Za-z0-9_-]+\./.test(e.subject))).toBe(true);
    const publicEndpoints = i.endpoints.filter((e) => !e.name.startsWith('node-'));
    expect(publicEndpoints.map((e) => e.metadata?.verb).sort()).toEqual(Object.values(Verbs).sort());
    for (const e of publicEndpoints) {
      const verb = e.metadata!.verb as (typeof Verbs)[keyof typeof Verbs];
      expect(e.subject).toBe(`termshare.${verb}`);
      expect(JSON.parse(e.metadata!.request_schema!), verb).toEqual(z.toJSONSchema(RequestSchemas[verb]));
      expect(JSON.parse(e.metadata!.response_schema!), verb).toEqual(z.toJSONSchema(ReplySchemas[verb]));
      expect(JSON.parse(e.metadata!.error_schema!).properties.error.properties.code.enum, verb).toContain('policy_denied');
    }
    const start = i.endpoints.find((e) => e.metadata?.verb === 'share.start')!;
    expect(JSON.parse(start.metadata!.request_schema!).required).toEqual(expect.arrayContaining(['terminal', 'backend']));
    expect(JSON.parse(start.metadata!.response_schema!).properties.share.properties.state.enum).toContain('active');
  });

  it('stats count a refused request as an error of its endpoint, naming the verb and code only', async () => {
    const before = await stats();
    const errorsOf = (s: ServiceStats, name: string) => s.endpoints!.find((e) => e.name === name)!;
    expect(errorsOf(before, 'share-get').num_errors).toBe(0);

    const refused = await h.client.request('share.get', { shareId: 'sh_doesnotexist' });
    expect(refused).toMatchObject({ ok: false, code: 'not_found' });
    const bad = await h.client.request('share.get', { shareId: 'not-a-share-id' });
    expect(bad).toMatchObject({ ok: false, code: 'invalid_request' });
    const fine = await h.client.request('share.list', {});
    expect(fine.ok).toBe(true);

    const after = await stats();
    expect(errorsOf(after, 'share-get')).toMatchObject({ num_errors: 2, last_error: 'share.get: invalid_request' });
    expect(errorsOf(after, 'share-get').num_requests).toBeGreaterThanOrEqual(2);
    expect(errorsOf(after, 'share-list').num_errors).toBe(errorsOf(before, 'share-list').num_errors);
    expect(JSON.stringify(after)).not.toContain('not-a-share-id');
  });
});
