import { describe, expect, it } from 'vitest';
import { REDACTED, REDACTION_RULES, redactEnv, redactValue } from '../../../src/adapters/terminals/redact.ts';

describe('redactEnv: by name', () => {
  it.each([
    'GITHUB_TOKEN', 'NPM_TOKEN', 'github_token', 'CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'PASSWORD',
    'DB_PASSWD', 'PGPASSWORD', 'GPG_PASSPHRASE', 'OPENAI_API_KEY', 'APIKEY', 'SSH_PRIVATE_KEY', 'PRIVATEKEY', 'GOOGLE_CREDENTIALS',
    'HTTP_AUTHORIZATION', 'AUTH_HEADER', 'OAUTH_CLIENT', 'SSH_AUTH_SOCK', 'COOKIE', 'SESSION_COOKIE', 'SESSIONID', 'XDG_SESSION_ID',
    'SENTRY_DSN', 'CONNECTION_STRING', 'AZURE_STORAGE_CONNECTIONSTRING', 'DB_CONN_STRING', 'CONNSTRING',
  ])('%s is redacted whatever its value', (name) => {
    expect(redactEnv({ [name]: 'plain-value' })).toEqual({ [name]: REDACTED });
  });

  it.each([
    'PATH', 'HOME', 'TERM', 'LANG', 'SHELL', 'USER', 'PWD', 'FOO',
    // A bare KEY is not a secret name.
    'KEYBOARD_LAYOUT', 'MONKEY', 'PUBLIC_KEY_PATH', 'XKB_DEFAULT_KEYMAP', 'HOTKEY',
    // AUTHOR / AUTHORITY are not AUTH.
    'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'XAUTHORITY', 'AUTHORS',
    // Neither is a session that is not an id, nor a connection that is not a string.
    'TMUX_SESSION', 'CONNECTION_TIMEOUT',
  ])('%s is kept', (name) => {
    expect(redactEnv({ [name]: 'plain-value' })).toEqual({ [name]: 'plain-value' });
  });
});

describe('redactEnv: by value', () => {
  it.each([
    ['GitHub classic token', 'ghp_0123456789abcdefghijABCDEFGHIJ012345'],
    ['GitHub OAuth token', 'gho_0123456789abcdefghijABCDEFGHIJ012345'],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
    ['API secret key', 'sk-proj-abcdefghijklmnop0123456789'],
    ['Anthropic-style key', 'sk-ant-api03-abcdefghijklmnop0123'],
    ['Slack bot token', 'xoxb-123456789012-abcdefghijkl'],
    ['Slack user token', 'xoxp-123456789012-abcdefghijkl'],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
    ['PEM private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'],
    ['RSA PEM private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE'],
    ['a token inside a longer value', 'Authorization: Bearer ghp_0123456789abcdefghijABCDEFGHIJ012345'],
  ])('%s is redacted under any name', (_what, value) => {
    expect(redactEnv({ SOMETHING: value })).toEqual({ SOMETHING: REDACTED });
  });

  it('only the password of a URL with credentials is redacted', () => {
    expect(redactEnv({
      DATABASE_URL: 'postgres://app:s3cr3t@db.internal:5432/app',
      PIP_INDEX_URL: 'https://user:p@ss@pypi.example/simple https://u2:pw2@mirror.example/simple',
      HTTPS_PROXY: 'http://proxy:token@10.0.0.1:3128',
    })).toEqual({
      DATABASE_URL: `postgres://app:${REDACTED}@db.internal:5432/app`,
      PIP_INDEX_URL: `https://user:${REDACTED}@pypi.example/simple https://u2:${REDACTED}@mirror.example/simple`,
      HTTPS_PROXY: `http://proxy:${REDACTED}@10.0.0.1:3128`,
    });
  });

  it.each([
    ['a URL with a user but no password', 'https://git@github.com/owner/repo'],
    ['a URL with a port', 'http://localhost:8080/path'],
    ['an email address', 'someone@example.com'],
    ['a path', '/usr/local/bin:/usr/bin:/bin'],
    ['a short sk- word', 'sk-short'],
    ['a word starting with ghp but no token', 'ghp_short'],
    ['a PEM public key', '-----BEGIN PUBLIC KEY-----\nMIIB'],
    ['colours', 'rs=0:di=01;34:ln=01;36'],
    ['a lowercase akia word', 'akiaiosfodnn7example'],
  ])('%s is kept', (_what, value) => {
    expect(redactEnv({ SOMETHING: value })).toEqual({ SOMETHING: value });
  });
});

describe('redaction rules', () => {
  it('are exported with a description each, for documentation', () => {
    expect(REDACTION_RULES.length).toBeGreaterThan(5);
    for (const r of REDACTION_RULES) expect(r.description.length).toBeGreaterThan(10);
  });

  it('redactValue leaves the input untouched and is idempotent', () => {
    const env = { GITHUB_TOKEN: 'x', DATABASE_URL: 'postgres://a:b@h/db', HOME: '/home/me' };
    const once = redactEnv(env);
    expect(env.GITHUB_TOKEN).toBe('x');
    expect(redactEnv(once)).toEqual(once);
    expect(redactValue('HOME', '/home/me')).toBe('/home/me');
  });
});
