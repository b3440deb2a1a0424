import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { verifySignature, type AuditPublicKey, type AuditSigner, type KeyResult } from './auditKey.ts';
import { canonical } from './hashChain.ts';

/**
 * The newest record the stream holds, as the service saw it, signed with its audit key: a chain
 * that does not hold this record lost its tail (or was replaced).
 */
export const Checkpoint = z.object({
  /** The record's stream sequence. */
  seq: z.number().int().positive().optional(),
  eventId: z.string(),
  hash: z.string(),
  /** The record's position in the chain, from 1 (not written by the service today). */
  count: z.number().int().positive().optional(),
  /** When the checkpoint was made. */
  at: z.string(),
  keyId: z.string(),
  /** base64url ed25519 signature over the canonical JSON of every other field. */
  sig: z.string(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;
export type CheckpointMark = Pick<Checkpoint, 'seq' | 'eventId' | 'hash' | 'count'>;

export const checkpointFile = (stateDir: string): string => join(stateDir, 'audit.checkpoint.json');

const signedText = (cp: Omit<Checkpoint, 'sig'>): string => canonical({ ...cp, sig: undefined });

export function makeCheckpoint(mark: CheckpointMark, signer: AuditSigner, at = new Date()): Checkpoint {
  const body = { ...mark, at: at.toISOString(), keyId: signer.keyId };
  return { ...body, sig: signer.sign(signedText(body)) };
}

/** What is wrong with a checkpoint under `key`, or undefined when `key` signed it as it is. */
export function checkpointProblem(cp: Checkpoint, key: AuditPublicKey): string | undefined {
  if (cp.keyId !== key.keyId) return `it is signed by key ${cp.keyId}, not by ${key.keyId}`;
  return verifySignature(key, signedText(cp), cp.sig) ? undefined : 'its signature does not match its content: it was altered';
}

export function parseCheckpoint(text: string): KeyResult<Checkpoint> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const cp = Checkpoint.safeParse(json);
  return cp.success ? { ok: true, value: cp.data } : { ok: false, error: `not a checkpoint (${cp.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})` };
}

/** The checkpoint in `file`; `value` is undefined when there is no such file. */
export async function readCheckpoint(file: string): Promise<KeyResult<Checkpoint | undefined>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: undefined };
    return { ok: false, error: `${file}: ${(e as Error).message}` };
  }
  const cp = parseCheckpoint(text);
  return cp.ok ? cp : { ok: false, error: `${file}: ${cp.error}` };
}

/** Replaces the checkpoint atomically (write a 0600 file, fsync, rename). */
export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(JSON.stringify(cp, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
