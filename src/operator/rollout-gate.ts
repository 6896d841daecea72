import type { Clock } from './clock.ts';
import { concurrencyLimit } from './config.ts';

export interface GateCounts {
  /** Opted-in nodes (the base of a percentage limit). */
  optedIn: number;
  /** Nodes whose failure counts against the budget (failed for their current desired state). */
  failed: number;
  /** Nodes with an unfinished installer Job in the Job cache. */
  running: ReadonlySet<string>;
}

/**
 * Admission for installer Jobs. The caches lag behind our own creates, so a Job we just
 * created is reserved here until the Job cache shows it; the check-and-reserve in tryAcquire
 * is synchronous, which makes it atomic under the queue's concurrent workers.
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

  /** Nodes holding a slot: running Jobs plus our not yet observed creates. */
  inUse(): Set<string> {
    const now = this.#clock.now();
    const { running } = this.#counts();
    for (const [node, { at }] of this.#reserved) {
      if (running.has(node) || now - at > this.#reservationTtlMs) this.#reserved.delete(node);
    }
    return new Set([...running, ...this.#reserved.keys()]);
  }

  /**
   * Whether `node` may create `job` now: 'go' (it holds a slot), 'created' (we already
   * created this very Job and the cache has not caught up: do nothing), or 'wait' (no free
   * slot; it waits in line).
   */
  tryAcquire(node: string, job: string): 'go' | 'created' | 'wait' {
    const used = this.inUse();
    const reserved = this.#reserved.get(node);
    if (reserved?.job === job) return 'created';
    if (!used.has(node) && used.size >= this.limit()) {
      this.#waiting.add(node);
      return 'wait';
    }
    this.#waiting.delete(node);
    this.#reserved.set(node, { at: this.#clock.now(), job });
    return 'go';
  }

  /** The create failed: give the slot back. */
  release(node: string): void {
    this.#reserved.delete(node);
  }

  /** The node no longer needs a slot (deleted, opted out, done). */
  forget(node: string): void {
    this.#reserved.delete(node);
    this.#waiting.delete(node);
  }

  /** Waiting nodes that may now get a slot, oldest first; they leave the line. */
  takeWaiters(): string[] {
    const free = this.limit() - this.inUse().size;
    if (free <= 0) return [];
    const next = [...this.#waiting].slice(0, free);
    for (const node of next) this.#waiting.delete(node);
    return next;
  }
}
