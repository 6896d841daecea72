import type { Clock, Timer } from '../clock.ts';

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
}

/** A manual clock for unit tests: timers fire only when the test advances time. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Pending>();

  constructor(start = Date.parse('2026-11-25T12:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const seq = ++this.#seq;
    this.#timers.set(seq, { due: this.#now + Math.max(0, ms), seq, fn });
    return seq as unknown as Timer;
  }

  clearTimeout(timer: Timer): void {
    this.#timers.delete(timer as unknown as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward, firing due timers in order. After each timer the work it started
   * settles before the next one is looked for, so a timer that schedules the next (a retry
   * loop) keeps its cadence. That holds for work made of promises alone (the fakes of unit
   * tests); work waiting on real I/O is awaited with until().
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = [...this.#timers.values()]
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers.delete(next.seq);
      this.#now = next.due;
      next.fn();
    }
    this.#now = target;
    await settle();
  }
}

/**
 * Runs every callback already queued as a microtask, and those they queue in turn: the
 * microtask queue is drained completely before the next macrotask. Enough for promise-only
 * work; not for work that waits on I/O or timers.
 */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Waits until `condition` holds, yielding to I/O between checks: for unit tests whose work
 * crosses real I/O (a loopback server), where no number of yields is "enough". The deadline
 * only turns a hang into a readable failure; it is not a claim about speed.
 */
export async function until(
  what: string,
  condition: () => boolean,
  deadlineMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
}
