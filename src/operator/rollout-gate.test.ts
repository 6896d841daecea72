import { describe, expect, it } from '@jest/globals';
import { RolloutGate, type GateCounts } from './rollout-gate.ts';
import { FakeClock } from './testing/fake-clock.ts';

function gate(counts: GateCounts, maxConcurrent: number | string = 2, failureBudget = 2) {
  const clock = new FakeClock();
  return {
    clock,
    gate: new RolloutGate({
      maxConcurrent,
      failureBudget,
      clock,
      counts: () => counts,
      reservationTtlMs: 1000,
    }),
  };
}

describe('RolloutGate', () => {
  it('hands out at most maxConcurrent slots, counting our own not yet observed creates', () => {
    const counts = { optedIn: 10, failed: 0, running: new Set<string>() };
    const { gate: g } = gate(counts);
    expect(g.tryAcquire('a', 'ja')).toBe('go');
    expect(g.tryAcquire('b', 'jb')).toBe('go');
    expect(g.tryAcquire('c', 'jc')).toBe('wait');
    // The same Job again while the cache lags: already created, nothing to do.
    expect(g.tryAcquire('a', 'ja')).toBe('created');
    // Another Job for a node that holds a slot keeps the slot.
    expect(g.tryAcquire('a', 'ja2')).toBe('go');
  });

  it('a running Job holds its slot; a finished one frees it for the oldest waiter', () => {
    const counts = { optedIn: 10, failed: 0, running: new Set(['x', 'y']) };
    const { gate: g } = gate(counts);
    expect(g.tryAcquire('c', 'jc')).toBe('wait');
    expect(g.tryAcquire('d', 'jd')).toBe('wait');
    expect(g.takeWaiters()).toEqual([]);
    counts.running.delete('x');
    expect(g.takeWaiters()).toEqual(['c']);
    expect(g.tryAcquire('c', 'jc')).toBe('go');
  });

  it('a reservation the cache never confirms expires', async () => {
    const counts = { optedIn: 10, failed: 0, running: new Set<string>() };
    const { gate: g, clock } = gate(counts, 1);
    expect(g.tryAcquire('a', 'ja')).toBe('go');
    expect(g.tryAcquire('b', 'jb')).toBe('wait');
    await clock.advance(1001);
    expect(g.tryAcquire('b', 'jb')).toBe('go');
  });

  it('percentages are of opted-in nodes', () => {
    const counts = { optedIn: 40, failed: 0, running: new Set<string>() };
    const { gate: g } = gate(counts, '10%');
    expect(g.limit()).toBe(4);
  });

  it('pauses when failures reach the budget; 0 disables pausing', () => {
    expect(gate({ optedIn: 5, failed: 1, running: new Set() }).gate.paused).toBe(false);
    expect(gate({ optedIn: 5, failed: 2, running: new Set() }).gate.paused).toBe(true);
    expect(gate({ optedIn: 5, failed: 9, running: new Set() }, 2, 0).gate.paused).toBe(false);
  });
});
