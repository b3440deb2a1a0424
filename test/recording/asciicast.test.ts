import { describe, expect, it } from 'vitest';
import { castLine, headerFor, outputText, parseCastV3, toV2 } from '../../src/recording/asciicast.ts';
import { keyBytes, markerText, marks, MARKER } from '../../src/recording/markers.ts';

const origin = { recordingId: 'rec_abcdef123456', shareId: 'sh_abcdef12', terminal: 'tmux:work', correlationId: 'c0ffee', owner: 'human:alice' };

describe('asciicast v3', () => {
  it('a header names the share, its correlation id and the terminal size', () => {
    const h = headerFor(origin, { cols: 100, rows: 30 }, Date.UTC(2026, 0, 1) + 500);
    expect(h).toMatchObject({ version: 3, term: { cols: 100, rows: 30 }, timestamp: Date.UTC(2026, 0, 1) / 1000, termshare: origin });
    expect(h.tags).toEqual(expect.arrayContaining(['share:sh_abcdef12', 'correlation:c0ffee']));
  });

  it('lines written are read back as the same events, comments skipped', () => {
    const text = castLine(headerFor(origin, { cols: 80, rows: 24 }, 0)) + '# a comment\n' + castLine([0.25, 'o', 'hi\r\n']) + castLine([1.5, 'm', 'granted']) + castLine([0.1234567, 'i', 'ls\r']);
    const cast = parseCastV3(text);
    expect(cast.events).toEqual([[0.25, 'o', 'hi\r\n'], [1.5, 'm', 'granted'], [0.123457, 'i', 'ls\r']]);
    expect(outputText(cast)).toBe('hi\r\n');
  });

  it('a file that is not v3 is refused naming the line', () => {
    expect(() => parseCastV3('{"version": 2, "width": 80, "height": 24}\n')).toThrow(/line 1/);
    expect(() => parseCastV3(castLine(headerFor(origin, { cols: 80, rows: 24 }, 0)) + '[1, "z", "?"]\n')).toThrow(/line 2/);
  });

  it('the v2 form has width, height and absolute times, and its exit as a marker', () => {
    const text = castLine(headerFor(origin, { cols: 80, rows: 24 }, 0)) + castLine([0.5, 'o', 'a']) + castLine([0.25, 'r', '90x30']) + castLine([1, 'x', '0']);
    const [head, ...events] = toV2(parseCastV3(text)).trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(head).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(events).toEqual([[0.5, 'o', 'a'], [0.75, 'r', '90x30'], [1.75, 'm', 'exit 0']]);
  });
});

describe('markers and input', () => {
  it('a marker names the step and the audit record it stands for', () => {
    const id = '123e4567-e89b-12d3-a456-426614174000';
    expect(markerText('start', id)).toBe(`granted (start ${id})`);
    expect(MARKER.exec(markerText('handoff.release', id))?.slice(1)).toEqual(['input returned', 'handoff.release', id]);
  });

  it('a denied extension, a failed or aborted switch and steps outside the lifecycle are no marker', () => {
    expect(marks({ action: 'extend', outcome: 'extended' })).toBe(true);
    expect(marks({ action: 'extend', outcome: 'denied' })).toBe(false);
    expect(marks({ action: 'switch', outcome: 'aborted' })).toBe(false);
    expect(marks({ action: 'terminal.input', outcome: 'sent' })).toBe(false);
    expect(marks({ action: 'revoke', outcome: 'revoked' })).toBe(true);
  });

  it('tmux key names become the bytes a terminal sends', () => {
    expect(['Enter', 'C-c', 'Tab', 'F5'].map(keyBytes)).toEqual(['\r', '\x03', '\t', '<F5>']);
  });
});
