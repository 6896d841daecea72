import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../controller/testing/fake-clock.ts';
import { RolloutGate, type GateCounts } from './rollout-gate.ts';

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
    expect(g.factsFor('a')).toEqual({ paused: false, slotFree: true, creating: undefined });
    g.reserve('a', 'ja');
    g.reserve('b', 'jb');
    expect(g.factsFor('c').slotFree).toBe(false);
    // The same node while the cache lags: its create is in flight, and it keeps its slot.
    expect(g.factsFor('a')).toEqual({ paused: false, slotFree: true, creating: 'ja' });
  });

  it('a running Job holds its slot; a finished one frees it for the oldest waiter', () => {
    const counts = { optedIn: 10, failed: 0, running: new Set(['x', 'y']) };
    const { gate: g } = gate(counts);
    expect(g.factsFor('c').slotFree).toBe(false);
    g.wait('c');
    g.wait('d');
    expect(g.takeWaiters()).toEqual([]);
    counts.running.delete('x');
    expect(g.takeWaiters()).toEqual(['c']);
    expect(g.factsFor('c').slotFree).toBe(true);
  });

  it('a reservation the cache never confirms expires; a released one frees at once', async () => {
    const counts = { optedIn: 10, failed: 0, running: new Set<string>() };
    const { gate: g, clock } = gate(counts, 1);
    g.reserve('a', 'ja');
    expect(g.factsFor('b').slotFree).toBe(false);
    await clock.advance(1001);
    expect(g.factsFor('b').slotFree).toBe(true);
    g.reserve('b', 'jb');
    g.release('b');
    expect(g.factsFor('c').slotFree).toBe(true);
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
