import { describe, expect, it } from 'vitest';
import { REDACTED, redactContext, redactEnv, redactLines } from '../../../src/adapters/terminals/redact.ts';
import { HARMLESS_ENV, HARMLESS_LINES, SECRET_CASES, fake, type SecretCase } from './secretCases.ts';

const secretOf = (c: SecretCase) => c.secret ?? c.value;
/** How the value shows in a terminal: printed bare, or (known by its name alone) as an assignment. */
const scrollbackOf = (c: SecretCase) => (c.byName ? [`$ export ${c.name}='${c.value}'`] : [`$ printenv ${c.name}`, ...c.value.split('\n')]);

describe('redaction: the 41 secret-bearing values of issue 10', () => {
  it('are 41', () => {
    expect(SECRET_CASES).toHaveLength(41);
  });

  it.each(SECRET_CASES)('$label is masked in the environment under its own name ($name)', async (c) => {
    const out = (await redactEnv({ [c.name]: c.value }))[c.name]!;
    expect(out).not.toContain(secretOf(c));
    expect(out).toContain(REDACTED);
  });

  it.each(SECRET_CASES.filter((c) => !c.byName))('$label is masked in the environment by its value alone (under CI_VALUE)', async (c) => {
    const out = (await redactEnv({ CI_VALUE: c.value })).CI_VALUE!;
    expect(out).not.toContain(secretOf(c));
    expect(out).toContain(REDACTED);
  });

  it.each(SECRET_CASES)('$label is masked in the scrollback, every line kept', async (c) => {
    const lines = ['$ make deploy', ...scrollbackOf(c), 'done'];
    const out = await redactLines(lines);
    expect(out.join('\n')).not.toContain(secretOf(c));
    expect(out.join('\n')).toContain(REDACTED);
    expect(out).toHaveLength(lines.length);
    expect([out[0], out.at(-1)]).toEqual(['$ make deploy', 'done']);
  });
});

describe('redaction: harmless look-alikes are left alone', () => {
  it('in the environment', async () => {
    expect(await redactEnv(HARMLESS_ENV)).toEqual(HARMLESS_ENV);
  });

  it('in the scrollback', async () => {
    expect(await redactLines(HARMLESS_LINES)).toEqual(HARMLESS_LINES);
  });

  it('a secret-named variable holding a flag is a setting, kept; holding anything else it is masked', async () => {
    expect(await redactEnv({ DISABLE_AUTH_PROMPT: 'true', DB_PASSWORD: 'x' })).toEqual({ DISABLE_AUTH_PROMPT: 'true', DB_PASSWORD: REDACTED });
  });
});

describe('redaction: only the secret goes', () => {
  it('a URL keeps its host and path, the password alone is masked', async () => {
    const pw = fake(16);
    expect(await redactEnv({ CACHE: `redis://:${pw}@cache:6379/0` })).toEqual({ CACHE: `redis://:${REDACTED}@cache:6379/0` });
  });

  it('a scrollback line keeps the text around a token', async () => {
    const token = `ghp_${fake(36)}`;
    expect(await redactLines([`pushing with ${token} to origin`])).toEqual([`pushing with ${REDACTED} to origin`]);
  });

  it('a program printing "secretlint-disable" does not switch detection off', async () => {
    const token = `ghp_${fake(36)}`;
    const out = await redactLines(['// secretlint-disable', token, '/* secretlint-disable-next-line */', token]);
    expect(out).toEqual(['// secretlint-disable', REDACTED, '/* secretlint-disable-next-line */', REDACTED]);
  });

  it('the context packet has both its environment and its scrollback redacted', async () => {
    const token = `glpat-${fake(20)}`;
    const ctx = await redactContext({ cwd: '/w', env: { GITLAB: token }, command: 'bash', scrollback: [`token ${token}`], size: { cols: 80, rows: 24 } });
    expect(ctx).toEqual({ cwd: '/w', env: { GITLAB: REDACTED }, command: 'bash', scrollback: [`token ${REDACTED}`], size: { cols: 80, rows: 24 } });
  });
});
