import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { LeaderElector } from './leader-elector.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { MemoryLeases } from './testing/memory-leases.ts';

/** Records `<identity>+` / `<identity>-` transitions and when they happened. */
function elector(
  store: MemoryLeases,
  clock: FakeClock,
  identity: string,
  transitions: string[],
  at: number[] = [],
) {
  return new LeaderElector({
    leases: store.forIdentity(identity),
    clock,
    log: pino({ level: 'silent' }),
    identity,
    namespace: 'ns',
    name: 'lease',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onStartedLeading: () => (transitions.push(`${identity}+`), at.push(clock.now())),
    onStoppedLeading: () => (transitions.push(`${identity}-`), at.push(clock.now())),
  });
}

/** Two candidates for one Lease, sharing a clock and a transition log. */
function candidates() {
  const clock = new FakeClock();
  const store = new MemoryLeases();
  const log: string[] = [];
  const times: number[] = [];
  const a = elector(store, clock, 'a', log, times);
  const b = elector(store, clock, 'b', log, times);
  return { clock, store, log, times, a, b };
}

describe('LeaderElector', () => {
  it('exactly one of two candidates leads; the standby takes over within the lease duration after the leader dies', async () => {
    const { clock, store, log, times, a, b } = candidates();
    a.start();
    await clock.advance(1);
    b.start();
    await clock.advance(30_000);
    expect(log).toEqual(['a+']);
    expect(store.lease?.spec?.holderIdentity).toBe('a');
    expect(b.isLeader).toBe(false);

    // a is partitioned away: it cannot renew, steps down after renewDeadline; b waits out the lease.
    store.cutOff.add('a');
    const cutAt = clock.now();
    await clock.advance(12_000);
    expect(log).toEqual(['a+', 'a-']);
    expect(b.isLeader).toBe(false);
    await clock.advance(8_000);
    expect(log).toEqual(['a+', 'a-', 'b+']);
    // Worst case: b saw a's last renewal one retry late and notices expiry one retry late.
    expect(times[2]! - cutAt).toBeLessThanOrEqual(15_000 + 2 * 2_000);
    expect(times[1]! - cutAt).toBeLessThanOrEqual(10_000 + 2_000);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
  });

  it("a leader whose renewal hangs steps down at renewDeadline, like client-go's", async () => {
    const { clock, store, log, times, a } = candidates();
    a.start();
    await clock.advance(1);
    await clock.advance(4_000);
    expect(log).toEqual(['a+']);
    // The next renewal (every 2 s) hangs: the last one that succeeded was at 4 s.
    store.hung.add('a');
    const lastRenewal = clock.now();
    await clock.advance(20_000);
    expect(log).toEqual(['a+', 'a-']);
    expect(times[1]! - lastRenewal).toBeLessThanOrEqual(10_000);
    // Stopping does not wait for a release that cannot happen, beyond renewDeadline.
    const stopped = a.stop();
    await clock.advance(10_000);
    await stopped;
  });

  it('a leader that stops releases the lease, so the standby leads on its next retry', async () => {
    const { clock, store, log, a, b } = candidates();
    a.start();
    await clock.advance(1);
    b.start();
    await clock.advance(4_000);
    await a.stop();
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    await clock.advance(2_000);
    expect(log).toEqual(['a+', 'a-', 'b+']);
    await b.stop();
  });

  it('renews its own lease with microsecond timestamps and keeps acquireTime', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const a = elector(store, clock, 'a', []);
    a.start();
    await clock.advance(1);
    const acquired = store.lease?.spec?.acquireTime;
    await clock.advance(6_000);
    expect(String(store.lease?.spec?.renewTime)).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/,
    );
    expect(store.lease?.spec?.acquireTime).toBe(acquired);
    expect(store.lease?.spec?.renewTime).not.toBe(acquired);
    await a.stop();
  });

  it("renews with one update per retryPeriod, as client-go's fast path; a lost update falls back to reading the Lease", async () => {
    const { clock, store, a } = candidates();
    a.start();
    await clock.advance(1);
    store.calls.length = 0;
    await clock.advance(10_000);
    expect(store.calls).toEqual(Array(5).fill('a replace'));

    // Someone else wrote the Lease meanwhile (its resourceVersion moved): the update fails,
    // and the leader reads the Lease before it writes again.
    store.lease = { ...store.lease, metadata: { ...store.lease?.metadata, resourceVersion: 'x' } };
    store.calls.length = 0;
    await clock.advance(2_000);
    expect(store.calls).toEqual(['a replace', 'a get', 'a replace']);
    expect(a.isLeader).toBe(true);
    await a.stop();
  });

  it('a lost optimistic-concurrency race does not make two leaders', async () => {
    const { clock, log, a, b } = candidates();
    a.start();
    b.start();
    await clock.advance(20_000);
    expect(log).toHaveLength(1);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
  });
});
