import { describe, expect, it } from 'vitest';
import { graceFor } from '../../src/machines/grace.ts';

const s = 1000;

describe('the grace fitted to a share\'s TTL', () => {
  it('is the configured grace for a share long enough to hold it five times', () => {
    expect(graceFor(1800 * s, 300 * s)).toBe(300 * s);
    expect(graceFor(1500 * s, 300 * s)).toBe(300 * s);
  });

  it('is a fifth of the TTL when the configured grace is longer than that (a 300 s share warns at 240 s)', () => {
    expect(graceFor(300 * s, 300 * s)).toBe(60 * s);
    expect(graceFor(60 * s, 300 * s)).toBe(12 * s);
  });

  it('is at least 10 s, unless that is more than half the TTL', () => {
    expect(graceFor(30 * s, 300 * s)).toBe(10 * s);
    expect(graceFor(10 * s, 300 * s)).toBe(5 * s);
    expect(graceFor(1 * s, 300 * s)).toBe(500);
  });

  it('never exceeds the configured grace, and a grace of 0 means no warning before expiry', () => {
    expect(graceFor(30 * s, 2 * s)).toBe(2 * s);
    expect(graceFor(300 * s, 0)).toBe(0);
  });

  it('leaves every share active for at least half its TTL', () => {
    for (const ttl of [1, 2, 5, 9, 10, 20, 21, 49, 50, 51, 100, 299, 300, 301, 1499, 1500, 1800, 604_800]) {
      expect(ttl * s - graceFor(ttl * s, 300 * s), `TTL ${ttl} s`).toBeGreaterThanOrEqual((ttl * s) / 2);
    }
  });
});
