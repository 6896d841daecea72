import { describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import { OperatorError } from '../operator/errors.ts';
import { FakeClock } from '../operator/testing/fake-clock.ts';
import { LeaderElector, type LeasePort } from './leader-elector.ts';

/** An in-memory Lease store with the apiserver's optimistic concurrency. */
class MemoryLeases {
  lease: V1Lease | undefined;
  #version = 0;
  /** Identities whose calls fail (a partitioned replica). */
  readonly cutOff = new Set<string>();

  forIdentity(identity: string): LeasePort {
    const guard = () => {
      if (this.cutOff.has(identity)) throw new OperatorError('KubeApi', 'connection refused');
    };
    return {
      getLease: async () => (guard(), structuredClone(this.lease)),
      createLease: async (lease) => {
        guard();
        if (this.lease) throw new OperatorError('Conflict', 'exists', { status: 409 });
        return this.#store(lease);
      },
      replaceLease: async (lease) => {
        guard();
        if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
          throw new OperatorError('Conflict', 'stale', { status: 409 });
        }
        return this.#store(lease);
      },
    };
  }

  #store(lease: V1Lease): V1Lease {
    this.lease = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(++this.#version) },
    });
    return structuredClone(this.lease);
  }
}

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

describe('LeaderElector', () => {
  it('exactly one of two candidates leads; the standby takes over within the lease duration after the leader dies', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const log: string[] = [];
    const times: number[] = [];
    const a = elector(store, clock, 'a', log, times);
    const b = elector(store, clock, 'b', log, times);
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

  it('a leader that stops releases the lease, so the standby leads on its next retry', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const log: string[] = [];
    const a = elector(store, clock, 'a', log);
    const b = elector(store, clock, 'b', log);
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

  it('a lost optimistic-concurrency race does not make two leaders', async () => {
    const clock = new FakeClock();
    const store = new MemoryLeases();
    const log: string[] = [];
    const a = elector(store, clock, 'a', log);
    const b = elector(store, clock, 'b', log);
    a.start();
    b.start();
    await clock.advance(20_000);
    expect(log).toHaveLength(1);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
  });
});
