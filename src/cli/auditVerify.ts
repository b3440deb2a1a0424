import { auditKeyFiles, loadAuditPublicKey, type AuditPublicKey } from '../adapters/audit/jetstream/auditKey.ts';
import type { ChainCheck, ChainOptions } from '../adapters/audit/jetstream/chainCheck.ts';
import { checkChain, describeBreak } from '../adapters/audit/jetstream/chainCheck.ts';
import type { AuditRecord } from '../api/schemas.ts';
import { checkpointFile, readCheckpoint, type Checkpoint } from '../adapters/audit/jetstream/checkpoint.ts';
import { defaultStateDir } from '../config.ts';
import { ExitCodes } from './format.ts';

/** Exit code of `audit verify` when the chain is broken. */
export const CHAIN_BROKEN = 1;

export type VerifyOptions = { key?: string; checkpoint?: string | false };
/** What verify checks against: the key, and the checkpoint when there is one (`none` says why there is not). */
export type Trust = { key: AuditPublicKey; checkpoint?: Checkpoint; checkpointFile?: string; none?: string };
export type TrustResult = { ok: true; value: Trust } | { ok: false; error: string; exit: number };

/** The public key (`--key`, else the state dir's) and the checkpoint (`--checkpoint`, else the state dir's if any, none with `--no-checkpoint`). */
export async function trustOf(o: VerifyOptions, stateDir = defaultStateDir()): Promise<TrustResult> {
  const keyFile = o.key ?? auditKeyFiles(stateDir).publicKey;
  const key = await loadAuditPublicKey(keyFile);
  if (!key.ok) {
    const hint = o.key ? '' : ` (\`termshare serve\` writes it there; set TERMSHARE_STATE_DIR to its state dir, or give --key <pem>)`;
    return { ok: false, error: `no audit public key: ${key.error}${hint}`, exit: ExitCodes.usage! };
  }
  if (o.checkpoint === false) return { ok: true, value: { key: key.value, none: 'not checked (--no-checkpoint)' } };
  const file = o.checkpoint ?? checkpointFile(stateDir);
  const cp = await readCheckpoint(file);
  if (!cp.ok) return { ok: false, error: `the checkpoint cannot be read: ${cp.error}`, exit: CHAIN_BROKEN };
  if (cp.value) return { ok: true, value: { key: key.value, checkpoint: cp.value, checkpointFile: file } };
  if (o.checkpoint) return { ok: false, error: `${file}: no such file`, exit: ExitCodes.usage! };
  return { ok: true, value: { key: key.value, none: `none at ${file}` } };
}

/** The line `audit verify` prints (stdout when ok, stderr when not). */
export function verifyText(where: string, check: ChainCheck, trust: Trust, opts: { firstPrevHash?: string; file?: boolean } = {}): string {
  if (!check.ok) {
    // A file may hold less than the chain on purpose: one share's stretch that starts at genesis, an older export.
    const hint = opts.file && check.reason === 'truncated' ? '; if this file is not meant to hold the whole chain up to now, check it with --no-checkpoint' : '';
    return `${where}: ${describeBreak(check)}${hint}`;
  }
  const from = check.fromGenesis ? 'from genesis' : `a stretch that starts after ${(opts.firstPrevHash ?? '').slice(0, 23)}… (records before it are not in the file)`;
  const cp = trust.checkpoint;
  const tail =
    check.checkpoint === 'matched'
      ? `the checkpoint's record (eventId ${cp!.eventId}, checkpointed at ${cp!.at}) is in it`
      : check.checkpoint === 'after-stretch'
        ? `the checkpoint's record is not in this stretch, so its tail is not checked`
        : `checkpoint ${trust.none ?? 'none'}: a cut tail would not show`;
  return `${where}: chain intact, ${check.count} record(s), ${from}, each signed by key ${trust.key.keyId}; ${tail}`;
}

export function verifyJson(where: string, check: ChainCheck, trust: Trust): Record<string, unknown> {
  const base = { source: where, ok: check.ok, count: check.count, keyId: trust.key.keyId, ...(trust.checkpointFile ? { checkpointFile: trust.checkpointFile } : {}) };
  if (check.ok) return { ...base, fromGenesis: check.fromGenesis, checkpoint: check.checkpoint };
  return {
    ...base,
    ...(check.index !== undefined ? { line: check.index + 1, eventId: check.record!.eventId } : {}),
    reason: check.reason,
    message: describeBreak(check),
  };
}

/** One node's chain as verified: `node` is empty for records written before records named their node. */
export type NodeChainCheck = { node: string; check: ChainCheck; firstPrevHash?: string };

/**
 * Each node writes a chain of its own (records carry `node`), so the trail is checked chain by chain,
 * in order of first appearance. The checkpoint, the newest record this machine's node stored, is checked
 * against the chain that holds its record, else against `localNode`'s chain (where its absence is a cut tail).
 */
export function checkChains(records: AuditRecord[], opts: ChainOptions & { localNode: string }): NodeChainCheck[] {
  const chains = new Map<string, AuditRecord[]>();
  for (const r of records) {
    const node = r.node ?? '';
    chains.set(node, [...(chains.get(node) ?? []), r]);
  }
  const cp = opts.checkpoint;
  const cpNode = cp ? ([...chains].find(([, rs]) => rs.some((r) => r.eventId === cp.eventId))?.[0] ?? opts.localNode) : undefined;
  if (cpNode !== undefined && !chains.has(cpNode)) chains.set(cpNode, []);
  return [...chains].map(([node, rs]) => ({
    node,
    firstPrevHash: rs[0]?.prevHash,
    check: checkChain(rs, { ...(opts.key ? { key: opts.key } : {}), ...(opts.start ? { start: opts.start } : {}), ...(node === cpNode && cp ? { checkpoint: cp } : {}) }),
  }));
}

/** Where a chain is: the source, and the node when it names one. */
export const chainWhere = (source: string, node: string) => (node ? `${source}, node ${node}` : source);
