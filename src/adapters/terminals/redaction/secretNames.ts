/**
 * Our thin layer over the detectors: what a NAME says. An environment variable or an assignment
 * in the scrollback (`export DB_PASS=...`, `"auth": "..."`) whose name says secret has its value
 * masked, whatever the value looks like; `*_PASS`, `*_PWD`, `*TOKEN*`, `*SECRET*`, `*KEY*`, ...
 *
 * Names are split into words (`_`, `-`, `.`, camelCase), so `KEYBOARD`, `TOKENIZERS_PARALLELISM`,
 * `MONKEY`, `GIT_AUTHOR_NAME` and `XAUTHORITY` are not secret names, while `MYSQL_PWD`, `dbPassword`,
 * `PGPASSWORD` and `GITHUBTOKEN` are. A flag value (`1`, `false`, `on`, empty) is never a secret:
 * `password_hint_shown=1` is a setting, not a password.
 */

/** A word that is a secret by itself (`DB_PASS`, `API_KEY`, `X_AUTH`). */
const SECRET_WORDS = new Set([
  'pass', 'passwd', 'password', 'passwords', 'passphrase', 'pwd', 'pw', 'secret', 'secrets', 'token', 'tokens',
  'key', 'keys', 'apikey', 'privatekey', 'credential', 'credentials', 'creds', 'auth', 'authorization', 'cookie',
  'cookies', 'sessionid', 'dsn', 'sas', 'sig', 'connstring', 'connectionstring', 'netrc', 'jwt',
]);
/** Ends of a run-together word that make it secret (`PGPASSWORD`, `GITHUBTOKEN`, `STRIPEAPIKEY`). */
const SECRET_ENDINGS = /(password|passwd|passphrase|secret|token|apikey|privatekey|credentials?)$/;
/** Pairs of words that name a secret together. */
const SECRET_PAIRS = new Set(['session id', 'connection string', 'conn string', 'private key', 'access key', 'client secret']);
/** A KEY after these is not a secret key. */
const NOT_SECRET_BEFORE_KEY = new Set(['public', 'sort', 'primary', 'foreign', 'hot']);

export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** Every secret word, ending and pair above holds one of these: a name without any is let go at once. */
const HINT = /pass|pw|secret|token|key|auth|cred|cookie|session|dsn|sas|sig|conn|netrc|jwt/i;

export function isSecretName(name: string): boolean {
  if (!HINT.test(name)) return false;
  const w = words(name);
  // A bare PWD or OLDPWD is the shell's working directory.
  if (w.length === 1 && (w[0] === 'pwd' || w[0] === 'oldpwd')) return false;
  return w.some((word, i) => {
    if (SECRET_PAIRS.has(`${w[i - 1]} ${word}`)) return true;
    if ((word === 'key' || word === 'keys') && NOT_SECRET_BEFORE_KEY.has(w[i - 1] ?? '')) return false;
    return SECRET_WORDS.has(word) || SECRET_ENDINGS.test(word);
  });
}

export function isFlag(value: string): boolean {
  return /^\s*(|0|1|true|false|yes|no|on|off|y|n|enabled?|disabled?|none|null)\s*$/i.test(value);
}

export type Span = [start: number, end: number];

/**
 * Assignments in text: `NAME=value`, `name: value`, `"name": "value"`, each as the span of its value.
 * `name: value` needs a value of six characters or more, so prose ("the token: see below") is left alone.
 */
const ASSIGNMENT = /(?<![\w.-])(["']?)([A-Za-z_][\w.-]{0,80})\1(?:(=)|\s*(:)\s*)("[^"\n]*"|'[^'\n]*'|[^\s"'`,;&|)}\]]+)/g;

export function secretAssignments(text: string): Span[] {
  const spans: Span[] = [];
  for (const m of text.matchAll(ASSIGNMENT)) {
    const [whole, , name = '', eq, , raw = ''] = m;
    if (!isSecretName(name)) continue;
    const value = raw.replace(/^["']|["']$/g, '');
    if (isFlag(value) || (!eq && value.length < 6)) continue;
    const end = m.index + whole.length;
    const quoted = raw !== value ? 1 : 0;
    spans.push([end - raw.length + quoted, end - quoted]);
  }
  return spans;
}
