/**
 * The one error type of a reconcile. `reason` is stable: it becomes the `reason` label of the
 * reconcile-error metric and the key for log searches, so it is a closed set.
 */
export const ERROR_REASONS = ['KubeApi', 'Conflict', 'NotFound', 'Timeout', 'Internal'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

export class ReconcileError extends Error {
  readonly reason: ErrorReason;
  /** HTTP status of a failed API call, when there was one. */
  readonly status: number | undefined;
  constructor(reason: ErrorReason, message: string, opts?: { status?: number; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ReconcileError';
    this.reason = reason;
    this.status = opts?.status;
  }
}

/** Anything that is not a ReconcileError is a bug or an unexpected failure: `Internal`. */
export function errorReason(err: unknown): ErrorReason {
  return err instanceof ReconcileError ? err.reason : 'Internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
