export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Extra text for the error, e.g. a component's log tail. */
  diagnostics?: () => string | Promise<string>;
  /** Gives up at once when this returns a reason, e.g. the awaited process exited. */
  abortIf?: () => string | undefined;
}

/**
 * Polls `check` until it returns something other than undefined/false, and returns that. A
 * check that throws counts as "not yet"; the last error is reported on timeout.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs, intervalMs = 200, diagnostics, abortIf }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const fail = async (reason: string): Promise<never> => {
    const extra = diagnostics ? `\n${await diagnostics()}` : '';
    throw new Error(`${reason} while waiting for ${what}${extra}`);
  };
  let lastError: unknown;
  for (;;) {
    const abort = abortIf?.();
    if (abort) return fail(abort);
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      return fail(`timed out after ${timeoutMs / 1000}s${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
