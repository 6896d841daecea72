import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../controller/testing/fake-clock.ts';
import { RolloutGate, type GateCounts } from './rollout-gate.ts';

const WORKERS = { controlPlane: new Set<string>(), ready: () => true };

function gate(
  counts: Omit<GateCounts, 'controlPlane' | 'ready'> & Partial<GateCounts>,
  maxConcurrent: number | string = 2,
  failureBudget = 2,
) {
  const clock = new FakeClock();
  return {
    clock,
    gate: new RolloutGate({
      maxConcurrent,
      failureBudget,
      clock,
      counts: () => ({ ...WORKERS, ...counts }),
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

  it('control-plane nodes take a slot one at a time, and only while every other control-plane node is Ready', () => {
    const ready = new Map([
      ['cp-a', true],
      ['cp-b', true],
      ['cp-c', true],
    ]);
    const counts = {
      optedIn: 10,
      failed: 0,
      running: new Set<string>(),
      controlPlane: new Set(ready.keys()),
      ready: (n: string) => ready.get(n) ?? true,
    };
    const { gate: g } = gate(counts, 5);
    expect(g.factsFor('cp-a').slotFree).toBe(true);
    g.reserve('cp-a', 'ja');
    expect(g.factsFor('cp-b').slotFree).toBe(false);
    expect(g.factsFor('worker').slotFree).toBe(true);
    // cp-a's Job finished and containerd (with the apiserver and etcd in it) restarts.
    g.release('cp-a');
    ready.set('cp-a', false);
    expect(g.factsFor('cp-b').slotFree).toBe(false);
    // A node that is not Ready itself still may: it waits for no one but the others.
    expect(g.factsFor('cp-a').slotFree).toBe(true);
    ready.set('cp-a', true);
    expect(g.factsFor('cp-b').slotFree).toBe(true);
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
