import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const CSRF_HEADER = 'x-termshare-csrf';

/**
 * Who may talk to the panel: a page it served itself. Every request must name the panel's own
 * loopback host (a DNS-rebinding page names its own), and every action must come from the
 * panel's origin (the browser's `Origin`, which a page cannot forge) carrying the token the
 * panel put in its page (which another origin cannot read).
 */
export class PanelGuard {
  readonly token = randomBytes(24).toString('base64url');
  private hosts: Set<string> = new Set();

  listenOn(port: number): void {
    this.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  }

  /** Why a request is refused, or undefined when it may go on. */
  refuseRead(req: IncomingMessage): string | undefined {
    if (!this.hosts.has(req.headers.host ?? '')) return `the panel answers only at http://127.0.0.1 on its own port (Host ${JSON.stringify(req.headers.host ?? '')})`;
    return undefined;
  }

  refuseAction(req: IncomingMessage): string | undefined {
    const read = this.refuseRead(req);
    if (read) return read;
    const origin = req.headers.origin ?? '';
    if (!this.hosts.has(origin.replace(/^http:\/\//, '')) || !origin.startsWith('http://')) return `actions are taken only from the panel's own page (Origin ${JSON.stringify(origin)}): reload the panel and try again`;
    const given = Buffer.from(String(req.headers[CSRF_HEADER] ?? ''));
    const want = Buffer.from(this.token);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return 'the page\'s action token is missing or stale: reload the panel and try again';
    return undefined;
  }
}
