import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AuditFilter } from '../adapters/audit/jetstream/auditReader.ts';
import type { AuditRecord } from '../api/schemas.ts';
import type { TermshareClient } from './client.ts';
import type { VerifyOptions } from './auditVerify.ts';
import { examples } from './examples.ts';
import { CliFailure, usage } from './failure.ts';

/** Loaded when an audit verb runs: JetStream, the chain checks and the key code. */
const reader = () => import('../adapters/audit/jetstream/auditReader.ts');
const auditClient = () => import('./auditClient.ts');
const verify = () => import('./auditVerify.ts');

const short = (id?: string) => (id ? id.slice(0, 8) : '');

function summary(data: Record<string, unknown> | undefined): string {
  if (!data) return '';
  const parts = Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (v.startsWith('sha256:') ? v.slice(0, 15) + '…' : v) : JSON.stringify(v)}`);
  const text = parts.join(' ');
  return text.length > 80 ? text.slice(0, 79) + '…' : text;
}

/** One line per record: time, action, outcome, actor, short event id, ← short causation id, key data. */
export function formatTimeline(records: AuditRecord[]): string {
  if (records.length === 0) return 'no audit records';
  const ids = new Set(records.map((r) => r.eventId));
  const rows = records.map((r) => [
    r.at,
    r.action,
    r.outcome,
    r.actor,
    short(r.eventId),
    r.causationId ? `← ${short(r.causationId)}${ids.has(r.causationId) ? '' : ' (not in trail)'}` : '',
    summary(r.data),
  ]);
  const head = ['TIME', 'ACTION', 'OUTCOME', 'ACTOR', 'EVENT', 'CAUSED BY', 'DATA'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const first = records[0]!;
  const title = `share ${first.shareId ?? '-'}  terminal ${first.terminal ?? '-'}  correlation ${first.correlationId}  ${records.length} record(s)`;
  return [title, ...[head, ...rows].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())].join('\n');
}

/** Set by `registerAuditCommands`: the program (its global `--creds` and `--timeout`). */
let programOf: () => Command | undefined = () => undefined;

/** A client for the trail; a refusal to read it (`audit.read`) is a CliFailure with the service's code. */
async function withClient<T>(work: (c: TermshareClient) => Promise<T>): Promise<T> {
  const [{ withClient: connected }, { AuditReadError }] = await Promise.all([import('./request.ts'), auditClient()]);
  return connected(programOf()!, undefined, async (c) => {
    try {
      return await work(c);
    } catch (e) {
      if (e instanceof AuditReadError) throw new CliFailure(e.code, e.message.replace(`${e.code}: `, ''));
      throw e;
    }
  });
}

function filterOf(o: { share?: string; correlation?: string }, required: boolean): AuditFilter {
  if (o.share && o.correlation) throw usage('give --share <id> or --correlation <id>, not both');
  if (required && !o.share && !o.correlation) throw usage('give --share <id> or --correlation <id>');
  return o.share ? { shareId: o.share } : o.correlation ? { correlationId: o.correlation } : {};
}

/** `termshare audit tail|show|verify|export`. */
export function registerAuditCommands(program: Command): void {
  programOf = () => program;
  const audit = program
    .command('audit')
    .description('the audit trail (stream TERMSHARE_AUDIT): tail, show, verify, export')
    .addHelpText('after', examples('termshare audit show --share <shareId>', 'termshare audit tail', 'termshare audit verify', 'termshare audit export > chain.jsonl'));

  audit
    .command('tail')
    .description('print the last records, then every new one as it arrives (Ctrl-C ends)')
    .option('-n, --last <n>', 'how many of the latest records to replay first (before filtering)', '10')
    .option('--share <id>', 'only records of this share')
    .option('--correlation <id>', 'only records with this correlation id')
    .option('--json', 'one JSON record per line')
    .addHelpText('after', examples('termshare audit tail', 'termshare audit tail --share <shareId> -n 50', 'termshare audit tail --json'))
    .action(async (o: { last: string; share?: string; correlation?: string; json?: boolean }) => {
      const filter = filterOf(o, false);
      const { tailAuditVia } = await auditClient();
      await withClient(async (c) => {
        const ac = new AbortController();
        process.once('SIGINT', () => ac.abort());
        process.once('SIGTERM', () => ac.abort());
        for await (const r of tailAuditVia(c, { last: Math.max(0, Number(o.last) || 0), filter, signal: ac.signal })) {
          console.log(o.json ? JSON.stringify(r) : `${r.at}  ${r.action}  ${r.outcome}  ${r.actor}  share ${r.shareId ?? '-'}  ${short(r.eventId)}${r.causationId ? ` ← ${short(r.causationId)}` : ''}`);
        }
      });
      process.exit(0);
    });

  audit
    .command('show')
    .description("one share's records (or one correlation's) as a timeline")
    .option('--share <id>', 'records of this share')
    .option('--correlation <id>', 'records with this correlation id')
    .option('--json', 'print a JSON array')
    .addHelpText('after', examples('termshare audit show --share <shareId>', 'termshare audit show --correlation <id> --json'))
    .action(async (o: { share?: string; correlation?: string; json?: boolean }) => {
      const filter = filterOf(o, true);
      const { readAuditVia } = await auditClient();
      const records = await withClient((c) => readAuditVia(c, filter));
      if (records.length === 0) throw new CliFailure('not_found', `no audit records ${filter.shareId ? `of share ${filter.shareId}` : `with correlation id ${filter.correlationId}`}: check the id (termshare status --all lists shares)`);
      console.log(o.json ? JSON.stringify(records, null, 2) : formatTimeline(records));
      process.exit(0);
    });

  audit
    .command('verify')
    .description('check the stream, or an exported file: the hash chain, every record signed by the service key, and the tail against the signed checkpoint; names what is wrong')
    .option('--file <chain.jsonl>', 'an exported chain (`termshare audit export`)')
    .option('--key <pem>', 'the audit public key (default: $TERMSHARE_STATE_DIR/keys/audit-ed25519.pub.pem)')
    .option('--checkpoint <file>', 'the signed checkpoint (default: $TERMSHARE_STATE_DIR/audit.checkpoint.json, when there is one)')
    .option('--no-checkpoint', 'check no checkpoint (an export older than it, say)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('termshare audit verify', 'termshare audit verify --file chain.jsonl', 'termshare audit verify --key audit.pub.pem --checkpoint audit.checkpoint.json --json'))
    .action(async (o: VerifyOptions & { file?: string; json?: boolean }) => {
      const [{ trustOf, verifyJson, verifyText, checkChains, chainWhere, CHAIN_BROKEN }, { checkChain, parseJsonl }, { GENESIS }, { loadConfig }] = await Promise.all([verify(), reader(), import('../adapters/audit/jetstream/hashChain.ts'), import('../config.ts')]);
      const trust = await trustOf(o);
      if (!trust.ok) throw new CliFailure(trust.exit === CHAIN_BROKEN ? 'chain_broken' : 'usage', trust.error, undefined, trust.exit);
      const { checkpoint, key } = trust.value;
      let records: AuditRecord[];
      if (o.file) {
        try {
          records = parseJsonl(await readFile(o.file, 'utf8'));
        } catch (e) {
          throw new CliFailure('chain_broken', `${o.file}: ${(e as Error).message}`, undefined, CHAIN_BROKEN);
        }
      } else {
        // Read through the service (policy audit.read); a stream that is gone reads as no records,
        // which a checkpoint then reports as a chain that lost every record.
        const { readAuditVia } = await auditClient();
        records = await withClient((c) => readAuditVia(c));
      }
      // One chain per node: each is checked on its own, and each is reported.
      const source = o.file ?? 'stream TERMSHARE_AUDIT';
      const chains = checkChains(records, { key, ...(checkpoint ? { checkpoint } : {}), ...(o.file ? {} : { start: GENESIS }), localNode: loadConfig().node });
      if (chains.length === 0) chains.push({ node: '', check: checkChain([], { key, ...(o.file ? {} : { start: GENESIS }) }) });
      const allOk = chains.every((c) => c.check.ok);
      if (o.json) {
        const each = chains.map((c) => ({ ...verifyJson(chainWhere(source, c.node), c.check, trust.value), ...(c.node ? { node: c.node } : {}) }));
        console.log(JSON.stringify(each.length === 1 ? each[0] : { ok: allOk, chains: each }, null, 2));
      } else {
        for (const c of chains) {
          const where = chainWhere(source, c.node);
          if (c.check.ok) console.log(verifyText(where, c.check, trust.value, { firstPrevHash: c.firstPrevHash }));
          else console.error(verifyText(where, c.check, trust.value, { file: Boolean(o.file) }));
        }
      }
      process.exit(allOk ? 0 : CHAIN_BROKEN);
    });

  audit
    .command('export')
    .description('print the chain as JSONL (all of it, or the stretch holding one share or correlation, which verifies on its own)')
    .option('--share <id>', 'the stretch from this share’s first record to its last')
    .option('--correlation <id>', 'the stretch from this correlation’s first record to its last')
    .addHelpText('after', examples('termshare audit export > chain.jsonl', 'termshare audit export --share <shareId> > share.jsonl'))
    .action(async (o: { share?: string; correlation?: string }) => {
      const filter = filterOf(o, false);
      const [{ readAuditVia }, { stretchOf, toJsonl }] = await Promise.all([auditClient(), reader()]);
      const all = await withClient((c) => readAuditVia(c));
      const records = filter.shareId || filter.correlationId ? stretchOf(all, filter) : all;
      process.stdout.write(toJsonl(records));
      process.exit(0);
    });
}
