import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkChain, parseJsonl, stretchOf, toJsonl, type AuditFilter } from '../adapters/audit/jetstream/auditReader.ts';
import { AuditReadError, readAuditVia, tailAuditVia } from './auditClient.ts';
import { GENESIS } from '../adapters/audit/jetstream/hashChain.ts';
import type { AuditRecord } from '../api/schemas.ts';
import { connectOrExit, type TermshareClient } from './client.ts';
import { CHAIN_BROKEN, chainWhere, checkChains, trustOf, verifyJson, verifyText, type VerifyOptions } from './auditVerify.ts';
import { loadConfig } from '../config.ts';
import { ExitCodes } from './format.ts';

export { CHAIN_BROKEN };

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

/** Set by `registerAuditCommands`: the program's global `--creds`. */
let credsOption: () => string | undefined = () => undefined;

async function withClient<T>(work: (c: TermshareClient) => Promise<T>): Promise<T> {
  const client = await connectOrExit({ creds: credsOption() });
  try {
    return await work(client);
  } catch (e) {
    console.error(`termshare: ${(e as Error).message}`);
    process.exit(e instanceof AuditReadError ? (ExitCodes[e.code] ?? 1) : ExitCodes.unreachable!);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function filterOf(o: { share?: string; correlation?: string }, required: boolean): AuditFilter {
  if (o.share && o.correlation) {
    console.error('termshare: give --share <id> or --correlation <id>, not both');
    process.exit(ExitCodes.usage);
  }
  if (required && !o.share && !o.correlation) {
    console.error('termshare: give --share <id> or --correlation <id>');
    process.exit(ExitCodes.usage);
  }
  return o.share ? { shareId: o.share } : o.correlation ? { correlationId: o.correlation } : {};
}

/** `termshare audit tail|show|verify|export`. */
export function registerAuditCommands(program: Command): void {
  credsOption = () => program.opts<{ creds?: string }>().creds;
  const audit = program.command('audit').description('the audit trail (stream TERMSHARE_AUDIT): tail, show, verify, export');

  audit
    .command('tail')
    .description('print the last records, then every new one as it arrives (Ctrl-C ends)')
    .option('-n, --last <n>', 'how many of the latest records to replay first (before filtering)', '10')
    .option('--share <id>', 'only records of this share')
    .option('--correlation <id>', 'only records with this correlation id')
    .option('--json', 'one JSON record per line')
    .action(async (o: { last: string; share?: string; correlation?: string; json?: boolean }) => {
      const filter = filterOf(o, false);
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
    .action(async (o: { share?: string; correlation?: string; json?: boolean }) => {
      const filter = filterOf(o, true);
      const records = await withClient((c) => readAuditVia(c, filter));
      if (o.json) console.log(JSON.stringify(records, null, 2));
      else console.log(formatTimeline(records));
      process.exit(records.length === 0 ? ExitCodes.not_found! : 0);
    });

  audit
    .command('verify')
    .description('check the stream, or an exported file: the hash chain, every record signed by the service key, and the tail against the signed checkpoint; names what is wrong')
    .option('--file <chain.jsonl>', 'an exported chain (`termshare audit export`)')
    .option('--key <pem>', 'the audit public key (default: $TERMSHARE_STATE_DIR/keys/audit-ed25519.pub.pem)')
    .option('--checkpoint <file>', 'the signed checkpoint (default: $TERMSHARE_STATE_DIR/audit.checkpoint.json, when there is one)')
    .option('--no-checkpoint', 'check no checkpoint (an export older than it, say)')
    .option('--json', 'print the result as JSON')
    .action(async (o: VerifyOptions & { file?: string; json?: boolean }) => {
      const trust = await trustOf(o);
      if (!trust.ok) {
        console.error(`termshare: ${trust.error}`);
        process.exit(trust.exit);
      }
      const { checkpoint, key } = trust.value;
      let records: AuditRecord[];
      if (o.file) {
        try {
          records = parseJsonl(await readFile(o.file, 'utf8'));
        } catch (e) {
          console.error(`termshare: ${o.file}: ${(e as Error).message}`);
          process.exit(CHAIN_BROKEN);
        }
      } else {
        // Read through the service (policy audit.read); a stream that is gone reads as no records,
        // which a checkpoint then reports as a chain that lost every record.
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
    .action(async (o: { share?: string; correlation?: string }) => {
      const filter = filterOf(o, false);
      const all = await withClient((c) => readAuditVia(c));
      const records = filter.shareId || filter.correlationId ? stretchOf(all, filter) : all;
      process.stdout.write(toJsonl(records));
      process.exit(0);
    });
}
