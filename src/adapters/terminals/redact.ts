/**
 * Redaction of a terminal's environment before it is handed to anyone (an agent taking over, a log).
 *
 * The rule, applied to every variable:
 * 1. If its NAME matches a secret-name pattern, the whole value becomes `[redacted]`.
 * 2. Otherwise, if its VALUE contains something shaped like a secret (a known token format, a JWT,
 *    a PEM private key), the whole value becomes `[redacted]`, whatever the name.
 * 3. Otherwise, URLs carrying a password (`scheme://user:password@host`) keep everything but the
 *    password, which becomes `[redacted]`.
 * 4. Everything else is kept as is.
 *
 * When in doubt the rule over-redacts: a harmless value lost (`XDG_SESSION_ID`, `SSH_AUTH_SOCK`) is
 * cheaper than a secret handed out. A bare `KEY` is deliberately not a name pattern: `KEYBOARD_LAYOUT`,
 * `MONKEY` or `PUBLIC_KEY_PATH` are kept, while `API_KEY`, `PRIVATE_KEY` and `ACCESS_KEY` are not.
 * Likewise `AUTH` does not catch `AUTHOR`/`AUTHORS`/`AUTHORITY` as a whole word (`GIT_AUTHOR_NAME`,
 * `XAUTHORITY`) but does catch `AUTHORIZATION`, `OAUTH_...`, `AUTH_HEADER`.
 */

export const REDACTED = '[redacted]';

export type RedactionRule = { applies: 'name' | 'value' | 'url-password'; pattern: RegExp; description: string };

/** The rules, in the order they are applied; exported so documentation can print them. */
export const REDACTION_RULES: readonly RedactionRule[] = [
  {
    applies: 'name',
    pattern: /(TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH(?!OR(S|ITY)?(_|$))|COOKIE|SESSION_?ID|DSN|CONN(ECTION)?_?STRING)/i,
    description: 'names of secrets: token, secret, password, passphrase, API/private/access key, credential, auth, cookie, session id, DSN, connection string',
  },
  { applies: 'value', pattern: /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/, description: 'GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_)' },
  { applies: 'value', pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/, description: 'GitHub fine-grained tokens (github_pat_)' },
  { applies: 'value', pattern: /\bsk-[A-Za-z0-9_-]{16,}/, description: 'API secret keys (sk-..., sk-proj-..., sk-ant-...)' },
  { applies: 'value', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, description: 'Slack tokens (xoxb-, xoxa-, xoxp-, ...)' },
  { applies: 'value', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, description: 'AWS access key ids (AKIA..., ASIA...)' },
  { applies: 'value', pattern: /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/, description: 'JSON Web Tokens (eyJ....eyJ....sig)' },
  { applies: 'value', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, description: 'PEM private keys' },
  {
    applies: 'url-password',
    // scheme://user:password@ — the password runs to the last `@` before a `/` or whitespace.
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)([^\s/]*)@/gi,
    description: 'passwords inside URLs (scheme://user:password@host: only the password is redacted)',
  },
];

export function redactValue(name: string, value: string): string {
  for (const rule of REDACTION_RULES) {
    if (rule.applies === 'name' && rule.pattern.test(name)) return REDACTED;
    if (rule.applies === 'value' && rule.pattern.test(value)) return REDACTED;
    if (rule.applies === 'url-password') value = value.replace(rule.pattern, (_m, head: string) => `${head}${REDACTED}@`);
  }
  return value;
}

export function redactEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) out[name] = redactValue(name, value);
  return out;
}
