/**
 * The operator's one error type. `reason` is stable: it becomes the `reason` label of
 * wasm_node_operator_reconcile_errors_total and the key for log searches.
 */
export const ERROR_REASONS = ['KubeApi', 'Conflict', 'NotFound', 'Internal'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

export class OperatorError extends Error {
  readonly reason: ErrorReason;
  readonly status: number | undefined;
  constructor(reason: ErrorReason, message: string, opts?: { status?: number; cause?: unknown }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OperatorError';
    this.reason = reason;
    this.status = opts?.status;
  }
}

export function errorReason(err: unknown): ErrorReason {
  return err instanceof OperatorError ? err.reason : 'Internal';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
