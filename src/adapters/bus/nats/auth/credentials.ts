import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';

/** A principal as the policy names it: `human:<id>` or `ai:<id>`. */
export type PrincipalRef = `${'human' | 'ai'}:${string}`;

/** Ids become file names and subject-free strings: keep them plain. */
export const PRINCIPAL_PATTERN = /^(human|ai):([A-Za-z0-9][A-Za-z0-9._@+-]{0,63})$/;

/** What a credentials file holds: whose it is and the nkey seed the NATS server checks. */
export type Credentials = { principal: string; seed: Uint8Array; publicKey: string };

const SEED_BEGIN = '-----BEGIN USER NKEY SEED-----';
const SEED_END = '------END USER NKEY SEED------';

/**
 * Each client subscribes only under its own inbox prefix (the server allows nothing else), so
 * no one else's replies can be read: the prefix is derived from the public key the server verified.
 */
export const inboxPrefixOf = (publicKey: string) => `_INBOX_${publicKey}`;

export function newCredentials(principal: string): Credentials {
  const kp = createUser();
  return { principal, seed: kp.getSeed(), publicKey: kp.getPublicKey() };
}

/**
 * The file format: comment lines, then the seed between NATS's own markers, so that the
 * official `nats` CLI takes the file as it is (`nats --nkey FILE --inbox-prefix _INBOX_<key>`).
 */
export function renderCredentials(c: Credentials): string {
  return [
    `# termshare credentials for ${c.principal}`,
    `# principal: ${c.principal}`,
    `# public key: ${c.publicKey}`,
    `# inbox prefix: ${inboxPrefixOf(c.publicKey)}`,
    '# Keep this file secret (mode 0600). Anyone holding it acts as this principal.',
    SEED_BEGIN,
    new TextDecoder().decode(c.seed),
    SEED_END,
    '',
  ].join('\n');
}

export function parseCredentials(text: string, file = 'credentials'): Credentials {
  const principal = text.match(/^# principal: (\S+)$/m)?.[1];
  const seedLine = text.split('\n').find((l) => l.startsWith('SU'));
  if (!principal || !seedLine) throw new Error(`${file} is not a termshare credentials file (no principal or no nkey seed)`);
  const seed = new TextEncoder().encode(seedLine.trim());
  let publicKey: string;
  try {
    publicKey = fromSeed(seed).getPublicKey();
  } catch (e) {
    throw new Error(`${file}: the nkey seed is not valid: ${(e as Error).message}`);
  }
  return { principal, seed, publicKey };
}

export async function readCredentials(file: string): Promise<Credentials> {
  return parseCredentials(await readFile(file, 'utf8'), file);
}

/** Written 0600 through a temporary file, in a 0700 directory. */
export async function writeCredentials(file: string, c: Credentials): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, renderCredentials(c), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
