import { backoffDelay, type BackoffPolicy } from './backoff.ts';
import type { Clock, Timer } from './clock.ts';

export interface WorkResult {
  /** Process the key again after this many ms (retry backoff, re-verification). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  concurrency: number;
  backoff: BackoffPolicy;
  clock: Clock;
  process: (key: string) => Promise<WorkResult>;
  /** The single error policy: called once per failed attempt, before the backoff requeue. */
  onError?: (key: string, err: unknown, attempt: number) => void;
  /** Called whenever the number of waiting keys changes (the depth gauge). */
  onDepth?: (depth: number) => void;
}

/**
 * A keyed work queue with client-go semantics: a key waits at most once (dedupe), is never
 * processed twice at the same time, is processed again if it was added while in flight
 * (dirty), retries with per-key exponential backoff, and at most `concurrency` keys run.
 */
export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  /** Waiting keys in arrival order (a Set keeps insertion order and dedupes). */
  readonly #ready = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #delayed = new Map<string, { due: number; timer: Timer }>();
  readonly #failures = new Map<string, number>();
  readonly #idleWaiters: (() => void)[] = [];
  #running = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
  }

  get depth(): number {
    return this.#ready.size;
  }

  /** Keys being processed right now. */
  get active(): number {
    return this.#processing.size;
  }

  add(key: string): void {
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#ready.has(key)) return;
    this.#ready.add(key);
    this.#reportDepth();
    this.#pump();
  }

  /** Adds the key after `ms`; an earlier pending delay for the key wins. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const { clock } = this.#opts;
    const due = clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing && existing.due <= due) return;
    if (existing) clock.clearTimeout(existing.timer);
    const timer = clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { due, timer });
  }

  /** Forget a key's failure history (e.g. the object was deleted). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops taking keys, drops delayed ones, and resolves when in-flight work is done. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const { timer } of this.#delayed.values()) this.#opts.clock.clearTimeout(timer);
    this.#delayed.clear();
    this.#ready.clear();
    this.#dirty.clear();
    this.#reportDepth();
    await this.idle();
  }

  /** Resolves when nothing is processing. */
  idle(): Promise<void> {
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    while (this.#running && this.#processing.size < this.#opts.concurrency) {
      const key = this.#ready.values().next().value;
      if (key === undefined) return;
      this.#ready.delete(key);
      this.#reportDepth();
      this.#processing.add(key);
      void this.#work(key);
    }
  }

  async #work(key: string): Promise<void> {
    let retryAfter: number | undefined;
    try {
      const result = await this.#opts.process(key);
      this.#failures.delete(key);
      retryAfter = result.requeueAfterMs;
    } catch (err) {
      const attempt = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, attempt);
      this.#opts.onError?.(key, err, attempt);
      retryAfter = backoffDelay(this.#opts.backoff, attempt);
    }
    this.#processing.delete(key);
    if (this.#running) {
      if (this.#dirty.delete(key)) this.add(key);
      if (retryAfter !== undefined) this.addAfter(key, retryAfter);
    }
    if (this.#processing.size === 0) this.#idleWaiters.splice(0).forEach((resolve) => resolve());
    this.#pump();
  }

  #reportDepth(): void {
    this.#opts.onDepth?.(this.#ready.size);
  }
}
