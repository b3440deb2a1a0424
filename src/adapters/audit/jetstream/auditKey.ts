import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { access, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type KeyResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** A public key that audit records and checkpoints are checked against. */
export type AuditPublicKey = { keyId: string; key: KeyObject };
/** The service's audit key: signs record hashes and checkpoints. The private key never leaves it. */
export type AuditSigner = AuditPublicKey & { publicPem: string; sign(text: string): string };

/** Where the service keeps its audit key pair: the private key 0600, its public key beside it. */
export const auditKeyFiles = (stateDir: string) => ({
  privateKey: join(stateDir, 'keys', 'audit-ed25519.pem'),
  publicKey: join(stateDir, 'keys', 'audit-ed25519.pub.pem'),
});

/** A short fingerprint of a public key: `ed25519:` and the first 16 hex digits of the SHA-256 of its SPKI DER. */
export function keyIdOf(key: KeyObject): string {
  return 'ed25519:' + createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** Parses a PEM public key (a private key's public half is taken too); ed25519 only. */
export function publicKeyOf(pem: string): KeyResult<AuditPublicKey> {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') return { ok: false, error: `not an ed25519 key (${key.asymmetricKeyType ?? 'unknown type'})` };
    return { ok: true, value: { keyId: keyIdOf(key), key } };
  } catch (e) {
    return { ok: false, error: `not a PEM public key: ${(e as Error).message}` };
  }
}

/** A signer from a PEM private key (PKCS#8, ed25519). */
export function signerOf(privatePem: string): KeyResult<AuditSigner> {
  let priv: KeyObject;
  try {
    priv = createPrivateKey(privatePem);
  } catch (e) {
    return { ok: false, error: `not a PEM private key: ${(e as Error).message}` };
  }
  if (priv.asymmetricKeyType !== 'ed25519') return { ok: false, error: `not an ed25519 key (${priv.asymmetricKeyType ?? 'unknown type'})` };
  const key = createPublicKey(priv);
  return {
    ok: true,
    value: { keyId: keyIdOf(key), key, publicPem: key.export({ type: 'spki', format: 'pem' }).toString(), sign: (text) => sign(null, Buffer.from(text), priv).toString('base64url') },
  };
}

/** True when `sig` (base64url) is `key`'s ed25519 signature over `text`. */
export function verifySignature(key: AuditPublicKey, text: string, sig: string): boolean {
  try {
    return verify(null, Buffer.from(text), key.key, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}

/** Writes `text` to a new file only (never over an existing one); false when it exists already. */
async function createOnly(file: string, text: string, mode: number): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * The service's audit key, made once under the state dir: `keys/audit-ed25519.pem` (0600) and its
 * public key `keys/audit-ed25519.pub.pem`. `warning` says when the public key file beside it is
 * another key's (then verify with the default key fails until it is put right).
 */
export async function ensureAuditKey(stateDir: string): Promise<KeyResult<AuditSigner & { created: boolean; warning?: string }>> {
  const files = auditKeyFiles(stateDir);
  try {
    await mkdir(dirname(files.privateKey), { recursive: true, mode: 0o700 });
    const exists = await access(files.privateKey).then(() => true, () => false);
    // `wx`: should two services start at once, one key is made and both use it.
    const created = !exists && (await createOnly(files.privateKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600));
    const signer = signerOf(await readFile(files.privateKey, 'utf8'));
    if (!signer.ok) return { ok: false, error: `${files.privateKey}: ${signer.error}` };
    if (await createOnly(files.publicKey, signer.value.publicPem, 0o644)) return { ok: true, value: { ...signer.value, created } };
    const beside = publicKeyOf(await readFile(files.publicKey, 'utf8'));
    const warning =
      beside.ok && beside.value.keyId === signer.value.keyId
        ? undefined
        : `${files.publicKey} is not the public key of ${files.privateKey} (${beside.ok ? beside.value.keyId : beside.error}): \`termshare audit verify\` would check against the wrong key; replace it with the public key of ${signer.value.keyId}`;
    return { ok: true, value: { ...signer.value, created, ...(warning ? { warning } : {}) } };
  } catch (e) {
    return { ok: false, error: `audit key under ${dirname(files.privateKey)}: ${(e as Error).message}` };
  }
}

/** Reads a PEM public key file (`termshare audit verify --key`). */
export async function loadAuditPublicKey(file: string): Promise<KeyResult<AuditPublicKey>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { ok: false, error: `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}` };
  }
  const key = publicKeyOf(text);
  return key.ok ? key : { ok: false, error: `${file}: ${key.error}` };
}
