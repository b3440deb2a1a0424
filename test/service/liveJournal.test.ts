import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LiveJournal, type LiveEntry } from '../../src/service/liveJournal.ts';

const log = pino({ level: 'silent' });
const share = (id: string): LiveEntry => ({ kind: 'share', id, correlationId: `c-${id}`, terminal: 'tmux:w' });
const onDisk = async (file: string) => (JSON.parse(await readFile(file, 'utf8')) as LiveEntry[]).map((e) => e.id).sort();

describe('the live journal', () => {
  it('keeps the last state on disk however many changes arrive during a write', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'journal-')), 'live.json');
    const j = new LiveJournal(file, log);
    const writes = [];
    for (let i = 0; i < 50; i++) writes.push(j.note(share(`sh_${i}`)));
    for (let i = 0; i < 50; i += 2) writes.push(j.drop(`sh_${i}`));
    await Promise.all(writes);
    expect(await onDisk(file)).toEqual(Array.from({ length: 25 }, (_, k) => `sh_${2 * k + 1}`).sort());
  });

  it('leaves a leftover on disk until recovery drops it, so a start that dies half-way loses none', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'journal-')), 'live.json');
    const first = new LiveJournal(file, log);
    await first.note(share('sh_a'));
    await first.note(share('sh_b'));
    // A start that reads them, deals with one, then dies.
    const second = new LiveJournal(file, log);
    expect((await second.takeLeftovers()).map((e) => e.id).sort()).toEqual(['sh_a', 'sh_b']);
    await second.drop('sh_a');
    await second.note(share('sh_new'));
    const third = new LiveJournal(file, log);
    expect((await third.takeLeftovers()).map((e) => e.id).sort()).toEqual(['sh_b', 'sh_new']);
  });
});
