import { execa } from 'execa';
import { describe, expect, it, vi } from 'vitest';
import { termshare } from '../support/cli.ts';

// Each test runs the CLI as its own process (a few, in parallel): generous on a loaded machine.
vi.setConfig({ testTimeout: 90_000 });

/** What bash offers after `words` (the last one being completed), through the script `completion bash` prints. */
async function bashCompletes(script: string, words: string[]): Promise<string[]> {
  const line = ['termshare', ...words].map((w) => `'${w}'`).join(' ');
  const r = await execa('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _termshare; printf '%s\\n' "\${COMPREPLY[@]}"`]);
  return r.stdout.split('\n').filter(Boolean);
}

describe('termshare completion', () => {
  it('bash: completes verbs, a verb\'s options, nested verbs and option values', async () => {
    const r = await termshare(['completion', 'bash']);
    expect(r.exitCode).toBe(0);
    expect(await bashCompletes(r.stdout, ['st'])).toEqual(['stop', 'status']);
    expect(await bashCompletes(r.stdout, ['status', '--'])).toEqual(expect.arrayContaining(['--all', '--watch', '--json', '--timeout', '--creds', '--help']));
    expect(await bashCompletes(r.stdout, ['audit', ''])).toEqual(['tail', 'show', 'verify', 'export', '--creds', '--timeout', '--help', '-h']);
    expect(await bashCompletes(r.stdout, ['share', 'tmux:w', '--backend', ''])).toEqual(['upterm', 'tmate']);
  });

  it('zsh: the same completion through bashcompinit, with a #compdef header', async () => {
    const r = await termshare(['completion', 'zsh']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('#compdef termshare');
    expect(r.stdout).toMatch(/bashcompinit/);
    expect(r.stdout).toMatch(/complete -F _termshare termshare/);
  });

  it('fish: one complete line per verb and per option, scoped to its verb', async () => {
    const r = await termshare(['completion', 'fish']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^complete -c termshare -n '__fish_use_subcommand' -a share -d 'share a terminal/m);
    expect(r.stdout).toMatch(/^complete -c termshare -n '__fish_seen_subcommand_from status' -l watch -s w -d /m);
    expect(r.stdout).toMatch(/^complete -c termshare -n '__fish_seen_subcommand_from audit; and not __fish_seen_subcommand_from tail show verify export' -a tail /m);
  });

  it('an unknown shell is a usage error naming the ones it knows', async () => {
    const r = await termshare(['completion', 'tcsh']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/"tcsh" is not a shell termshare completes: use bash, zsh or fish/);
  });
});
