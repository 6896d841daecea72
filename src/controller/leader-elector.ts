import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, Timer } from './clock.ts';
import { errorMessage } from './errors.ts';

/** The three Lease calls election needs; failures are ReconcileErrors (409 = Conflict). */
export interface LeasePort {
  getLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(lease: V1Lease): Promise<V1Lease>;
  /** Optimistic-concurrency replace: a stale resourceVersion fails with reason Conflict. */
  replaceLease(lease: V1Lease): Promise<V1Lease>;
}

export interface ElectorOptions {
  leases: LeasePort;
  clock: Clock;
  log: Logger;
  identity: string;
  namespace: string;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/**
 * MicroTime must carry exactly six fractional digits for the apiserver; client-node passes
 * strings through untouched (it would serialise a Date with three).
 */
function microTime(ms: number): Date {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/**
 * Lease-based leader election with client-go's rules: a lease is expired when its record has
 * not changed for leaseDuration *by our own clock* (observed time, so clock skew between
 * replicas does not matter); a leader that cannot renew within renewDeadline steps down.
 */
export class LeaderElector {
  readonly #o: ElectorOptions;
  #leader = false;
  #stopped = true;
  #timer: Timer | undefined;
  #observedVersion = '';
  #observedAt = 0;
  #lastRenew = 0;
  /** The Lease as our last successful write left it (the renewal's fast path starts from it). */
  #held: V1Lease | undefined;
  #tick: Promise<void> = Promise.resolve();

  constructor(options: ElectorOptions) {
    this.#o = options;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    await this.#tick;
    if (this.#leader) {
      // A stuck apiserver must not hold up shutdown: the standby then waits for expiry.
      await this.#bounded(this.#release(), this.#o.renewDeadlineMs, undefined);
      this.#setLeader(false);
    }
  }

  #schedule(ms: number): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#tick = this.#round().finally(() => {
        if (!this.#stopped) this.#schedule(this.#o.retryPeriodMs);
      });
    }, ms);
  }

  async #round(): Promise<void> {
    const ok = await this.#withinDeadline(this.#tryAcquireOrRenew());
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    if (ok) {
      this.#lastRenew = now;
      if (!this.#leader) this.#setLeader(true);
    } else if (this.#leader && now - this.#lastRenew >= this.#o.renewDeadlineMs) {
      this.#o.log.warn(
        { lease: this.#o.name },
        'leader lease not renewed within deadline; stepping down',
      );
      this.#setLeader(false);
    }
  }

  /**
   * client-go gives a leader's renewal until renewDeadline after its last success, and any
   * attempt no longer than renewDeadline: a call that hangs counts as failed then, and the
   * leader steps down instead of leading blind. (The API calls have their own timeout too.)
   */
  #withinDeadline(attempt: Promise<boolean>): Promise<boolean> {
    const { clock, renewDeadlineMs } = this.#o;
    const left = this.#leader ? this.#lastRenew + renewDeadlineMs - clock.now() : renewDeadlineMs;
    return this.#bounded(attempt, left, false);
  }

  /** `work`'s result, or `fallback` once `ms` have passed (the work is abandoned). */
  #bounded<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
    const { clock } = this.#o;
    return new Promise((resolve) => {
      const timer = clock.setTimeout(() => resolve(fallback), Math.max(0, ms));
      void work.then((value) => {
        clock.clearTimeout(timer);
        resolve(value);
      });
    });
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    this.#o.log.info(
      { lease: this.#o.name, identity: this.#o.identity, leader },
      leader ? 'became leader' : 'stopped leading',
    );
    if (leader) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  #observe(lease: V1Lease, now: number): void {
    const version = lease.metadata?.resourceVersion ?? '';
    if (version !== this.#observedVersion) {
      this.#observedVersion = version;
      this.#observedAt = now;
    }
  }

  /**
   * client-go's fast path: a leader whose lease is still valid by its own clock renews with a
   * single update of the Lease it last wrote (its resourceVersion guards the race), so leading
   * costs one request per retryPeriod. Any failure falls back to reading the Lease first.
   */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { clock, leaseDurationMs } = this.#o;
    const now = clock.now();
    const held = this.#held;
    if (this.#leader && held && this.#observedAt + leaseDurationMs > now) {
      try {
        return this.#wrote(await this.#o.leases.replaceLease(this.#renewed(held, now)), now);
      } catch (err) {
        this.#o.log.debug({ lease: this.#o.name, err: errorMessage(err) }, 'fast renewal failed');
      }
    }
    return this.#readAndAcquire(now);
  }

  #renewed(lease: V1Lease, now: number): V1Lease {
    return { ...lease, spec: { ...lease.spec, renewTime: microTime(now) } };
  }

  #wrote(lease: V1Lease, now: number): true {
    this.#observe(lease, now);
    this.#held = lease;
    return true;
  }

  async #readAndAcquire(now: number): Promise<boolean> {
    const { leases, identity, namespace, name } = this.#o;
    const durationSeconds = Math.ceil(this.#o.leaseDurationMs / 1000);
    this.#held = undefined;
    try {
      const current = await leases.getLease(namespace, name);
      if (!current) {
        const created = await leases.createLease({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return this.#wrote(created, now);
      }
      this.#observe(current, now);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldFor = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && this.#observedAt + heldFor > now) return false;
      const renewing = holder === identity;
      const updated = await leases.replaceLease({
        ...current,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: renewing && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
        },
      });
      return this.#wrote(updated, now);
    } catch (err) {
      this.#o.log.debug({ lease: name, err: errorMessage(err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  async #release(): Promise<void> {
    const { leases, namespace, name, identity, clock } = this.#o;
    try {
      const current = await leases.getLease(namespace, name);
      if (current?.spec?.holderIdentity !== identity) return;
      await leases.replaceLease({
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: undefined,
          leaseDurationSeconds: 1,
          renewTime: microTime(clock.now()),
        },
      });
    } catch (err) {
      this.#o.log.warn(
        { lease: name, err: errorMessage(err) },
        'lease release failed; standby waits for expiry',
      );
    }
  }
}
