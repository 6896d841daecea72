import type { Clock } from '../../controller/clock.ts';
import { concurrencyLimit } from '../config.ts';
import type { RolloutFacts } from '../plan/node-plan.ts';

export interface GateCounts {
  /** Opted-in nodes (the base of a percentage limit). */
  optedIn: number;
  /** Nodes whose failure counts against the budget (failed for their current desired state). */
  failed: number;
  /** Nodes with an unfinished installer Job in the Job cache. */
  running: ReadonlySet<string>;
  /** Control-plane nodes: restarting their containerd restarts the apiserver and etcd. */
  controlPlane: ReadonlySet<string>;
  /** Whether the node's Ready condition is True (undefined: not known). */
  ready: (node: string) => boolean | undefined;
}

/**
 * The rollout's limits as facts a plan reads (paused? a free slot? a create in flight?) and
 * the bookkeeping that executes what the plan chose (reserve a slot, wait for one). The caches
 * lag behind our own creates, so a Job we just created is reserved here until the Job cache
 * shows it. A reconcile reads the facts and reserves in one synchronous stretch, which makes
 * check-and-reserve atomic under the queue's concurrent workers.
 */
export class RolloutGate {
  readonly #maxConcurrent: number | string;
  readonly #failureBudget: number;
  readonly #clock: Clock;
  readonly #reservationTtlMs: number;
  readonly #counts: () => GateCounts;
  /** Node → when we created its Job and which Job, until the Job cache shows it. */
  readonly #reserved = new Map<string, { at: number; job: string }>();
  /** Nodes that wanted a slot and did not get one, in arrival order. */
  readonly #waiting = new Set<string>();

  constructor(opts: {
    maxConcurrent: number | string;
    failureBudget: number;
    clock: Clock;
    counts: () => GateCounts;
    /** A reservation the Job cache never confirms (create raced a delete) expires after this. */
    reservationTtlMs?: number;
  }) {
    this.#maxConcurrent = opts.maxConcurrent;
    this.#failureBudget = opts.failureBudget;
    this.#clock = opts.clock;
    this.#counts = opts.counts;
    this.#reservationTtlMs = opts.reservationTtlMs ?? 60_000;
  }

  get paused(): boolean {
    return this.#failureBudget > 0 && this.#counts().failed >= this.#failureBudget;
  }

  limit(): number {
    return concurrencyLimit(this.#maxConcurrent, this.#counts().optedIn);
  }

  /**
   * Slots in use: running Jobs plus our not yet observed creates. Reservations the cache now
   * shows (or that expired) are dropped first, so the two never overlap and a count suffices.
   */
  #used(running: ReadonlySet<string>): number {
    const now = this.#clock.now();
    for (const [node, { at }] of this.#reserved) {
      if (running.has(node) || now - at > this.#reservationTtlMs) this.#reserved.delete(node);
    }
    return running.size + this.#reserved.size;
  }

  /** What the rollout allows `node` right now. */
  factsFor(node: string): RolloutFacts {
    const counts = this.#counts();
    const used = this.#used(counts.running);
    const holds = (n: string) => counts.running.has(n) || this.#reserved.has(n);
    return {
      paused: this.#failureBudget > 0 && counts.failed >= this.#failureBudget,
      slotFree:
        (holds(node) || used < concurrencyLimit(this.#maxConcurrent, counts.optedIn)) &&
        this.#quorumAllows(node, holds, counts),
      creating: this.#reserved.get(node)?.job,
    };
  }

  /**
   * Control-plane nodes go one at a time, and only while every other one is Ready: on k3s
   * servers, RKE2 servers and k0s controllers the restarted unit hosts the apiserver and etcd,
   * and two down at once can break quorum.
   */
  #quorumAllows(
    node: string,
    holds: (node: string) => boolean,
    { controlPlane, ready }: GateCounts,
  ): boolean {
    if (!controlPlane.has(node)) return true;
    for (const other of controlPlane) {
      if (other === node) continue;
      if (holds(other) || ready(other) === false) return false;
    }
    return true;
  }

  /** The plan started `job` on `node`: it holds a slot until the Job cache shows the Job. */
  reserve(node: string, job: string): void {
    this.#waiting.delete(node);
    this.#reserved.set(node, { at: this.#clock.now(), job });
  }

  /** The create failed: give the slot back. */
  release(node: string): void {
    this.#reserved.delete(node);
  }

  /** The plan found no free slot: the node waits in line. */
  wait(node: string): void {
    this.#waiting.add(node);
  }

  /** The node no longer needs a slot (deleted, opted out, done). */
  forget(node: string): void {
    this.#reserved.delete(node);
    this.#waiting.delete(node);
  }

  /** Waiting nodes that may now get a slot, oldest first; they leave the line. */
  takeWaiters(): string[] {
    if (this.#waiting.size === 0) return [];
    const free = this.limit() - this.#used(this.#counts().running);
    const next: string[] = [];
    for (const node of this.#waiting) {
      if (next.length >= free) break;
      next.push(node);
    }
    for (const node of next) this.#waiting.delete(node);
    return next;
  }
}
