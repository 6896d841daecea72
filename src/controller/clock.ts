/**
 * Time as a seam: the queue, the elector, retry backoff and the informer restarts all take a
 * Clock so unit tests can jump through minutes of backoff without sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export interface Timer {
  readonly __timer: unique symbol;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    // Timers never keep the process alive on their own: shutdown is explicit.
    handle.unref();
    return handle as unknown as Timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as unknown as NodeJS.Timeout),
};
