import { describe, expect, it } from 'vitest';
import { isFlag, isSecretName, secretAssignments } from '../../../src/adapters/terminals/redaction/secretNames.ts';

describe('secret names', () => {
  it.each([
    'MYSQL_PWD', 'DB_PASS', 'DB_PW', 'PGPASSWORD', 'dbPassword', 'GPG_PASSPHRASE', 'GITHUB_TOKEN', 'GITHUBTOKEN', 'REFRESH_TOKENS',
    'CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'ENCRYPTION_KEY', 'SIGNING_KEYS', 'APIKEY', 'stripeApiKey',
    'SSH_PRIVATE_KEY', 'GOOGLE_CREDENTIALS', 'AUTH_HEADER', 'HTTP_AUTHORIZATION', 'SESSION_COOKIE', 'SESSION_ID', 'SENTRY_DSN',
    'CONNECTION_STRING', 'AZURE_SAS', 'NETRC', 'ID_JWT', 'x-api-key', 'client.secret',
  ])('%s is a secret name', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each([
    'PATH', 'HOME', 'PWD', 'OLDPWD', 'KEYBOARD', 'KEYBOARD_LAYOUT', 'TOKENIZERS_PARALLELISM', 'MONKEY', 'HOTKEY', 'PUBLIC_KEY_PATH',
    'SORT_KEY', 'XKB_DEFAULT_KEYMAP', 'GIT_AUTHOR_NAME', 'XAUTHORITY', 'AUTHORS', 'TMUX_SESSION', 'CONNECTION_TIMEOUT', 'BYPASS_CACHE',
    'COMPASS_URL', 'PASSENGER_APP_ENV',
  ])('%s is not a secret name', (name) => {
    expect(isSecretName(name)).toBe(false);
  });

  it('flags are settings, not secrets', () => {
    expect(['', '0', '1', 'true', 'FALSE', 'on', 'off', 'yes', 'no'].every(isFlag)).toBe(true);
    expect(['2', 'hunter2', 'truex'].some(isFlag)).toBe(false);
  });
});

describe('secret assignments in text', () => {
  const masked = (text: string) => secretAssignments(text).map(([a, b]) => text.slice(a, b));

  it('finds the value of NAME=value, "name": "value" and name: value (quotes left out)', () => {
    expect(masked(`export DB_PASS='s3cr3t-value' && MYSQL_PWD=hunter22 ./run`)).toEqual(['s3cr3t-value', 'hunter22']);
    expect(masked('{"auth": "Y2k6cGFzcw==", "email": "ci@example.com"}')).toEqual(['Y2k6cGFzcw==']);
    expect(masked('api_key: abcdef123456')).toEqual(['abcdef123456']);
  });

  it('leaves flags, prose and harmless names alone', () => {
    expect(masked('password_hint_shown=1 TOKENIZERS_PARALLELISM=false KEYBOARD=us')).toEqual([]);
    expect(masked('the token: see below; enter your password when asked')).toEqual([]);
  });
});
