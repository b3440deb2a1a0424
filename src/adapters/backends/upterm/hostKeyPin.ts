import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { ErrorCodes, TermshareError } from '../../../errors.ts';

/**
 * Relay host key pinning for `upterm host`. upterm is always given our own known_hosts file and
 * never `--skip-host-key-check` (which, in upterm 0.24, accepts any key it has not seen yet).
 * A relay already pinned there is checked by upterm itself; for one that is not, upterm asks on
 * its stdin, and we answer with the configured fingerprint only when it is the one presented
 * (upterm's own "yes/no/[fingerprint]" prompt; it then writes the pin), and `no` otherwise.
 */
export type HostKeyPin = { knownHosts: string; fingerprint?: string };

const PROMPT = /key fingerprint is (SHA256:[A-Za-z0-9+/=]+)\.?\s*$/;
const CHANGED = /REMOTE HOST IDENTIFICATION HAS CHANGED/;

/** The fingerprint upterm shows when it meets a relay key that is not pinned, if this line is that prompt. */
export function promptedFingerprint(line: string): string | undefined {
  return PROMPT.exec(line)?.[1];
}

/** The name upterm files a relay under in known_hosts: `host`, or `[host]:port` off port 22 (ssh's own rule). */
export function knownHostsName(server: string): string {
  const u = new URL(server);
  const port = u.port || '22';
  return port === '22' ? u.hostname : `[${u.hostname}]:${port}`;
}

/**
 * Whether known_hosts already pins some key for this relay. upterm treats a relay whose
 * certificate authority changed as merely "unknown" and prompts again; a relay that is pinned
 * and prompts has changed its key, which we refuse whatever fingerprint is configured.
 */
export async function isPinned(pin: HostKeyPin, server: string): Promise<boolean> {
  const name = knownHostsName(server);
  const text = await readFile(pin.knownHosts, 'utf8').catch(() => '');
  return text.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    const hosts = fields[0]?.startsWith('@') ? fields[1] : fields[0];
    return hosts?.split(',').includes(name) ?? false;
  });
}

/** The SHA256 fingerprints of the keys known_hosts pins for this relay (as ssh prints them). */
export async function pinnedFingerprints(pin: HostKeyPin, server: string): Promise<string[]> {
  const name = knownHostsName(server);
  const text = await readFile(pin.knownHosts, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    const [hosts, , blob] = fields[0]?.startsWith('@') ? fields.slice(1) : fields;
    if (!hosts?.split(',').includes(name) || !blob) return [];
    return [`SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`];
  });
}

/** What to type at upterm's prompt: the fingerprint when it is the pinned one, `no` for anything else. */
export function answerFor(pin: HostKeyPin, seen: string): string {
  return pin.fingerprint && pin.fingerprint === seen ? seen : 'no';
}

export function unpinnedError(pin: HostKeyPin, server: string, seen: string): TermshareError {
  const configured = pin.fingerprint ? ` and is not TERMSHARE_UPTERM_FINGERPRINT (${pin.fingerprint})` : '';
  return new TermshareError(
    ErrorCodes.backendUnavailable,
    `the upterm relay ${server} presented host key ${seen}, which is not pinned in ${pin.knownHosts}${configured}; ` +
      `if that is your relay's key (ask its operator, or run \`ssh-keygen -lf\` on its public key), set TERMSHARE_UPTERM_FINGERPRINT=${seen}`,
  );
}

/** upterm's refusal of a key that differs from the pinned one, as a contract error; undefined for any other failure. */
export function changedKeyError(pin: HostKeyPin, server: string, uptermMessage: string): TermshareError | undefined {
  if (!CHANGED.test(uptermMessage)) return undefined;
  return new TermshareError(
    ErrorCodes.backendUnavailable,
    `the upterm relay ${server} presented a host key that differs from the one pinned in ${pin.knownHosts} (a man-in-the-middle, or the relay was re-keyed); ` +
      `if the relay's operator confirms a new key, remove its line from ${pin.knownHosts} and set TERMSHARE_UPTERM_FINGERPRINT to the new fingerprint`,
  );
}

/** The SHA256 fingerprint of a public key file, as ssh prints it. */
export async function fingerprintOf(publicKeyFile: string): Promise<string> {
  const r = await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile], { reject: false });
  const fp = r.stdout.split(' ')[1];
  if (r.exitCode !== 0 || !fp?.startsWith('SHA256:')) throw new Error(`ssh-keygen could not read ${publicKeyFile}: ${r.stderr.trim()}`);
  return fp;
}
