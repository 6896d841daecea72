import { ApiException } from '@kubernetes/client-node';
import { ReconcileError } from '../controller/errors.ts';

/** client-node's ApiException.body is the Status JSON as a string; pull out its message. */
function statusMessage(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const status = JSON.parse(body) as { message?: string };
    return status.message;
  } catch {
    return body.slice(0, 200);
  }
}

/** Maps any client error to a ReconcileError with a stable reason. */
export function toReconcileError(err: unknown, action: string): ReconcileError {
  if (err instanceof ReconcileError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    const reason = code === 409 ? 'Conflict' : code === 404 ? 'NotFound' : 'KubeApi';
    const message = statusMessage(err.body) ?? `HTTP ${code}`;
    return new ReconcileError(reason, `${action}: ${message}`, { status: code, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ReconcileError('KubeApi', `${action}: ${message}`, { cause: err });
}

/** Runs a call, mapping errors, and turning the listed HTTP statuses into `undefined`. */
export async function call<T>(
  action: string,
  fn: () => Promise<T>,
  tolerate: number[] = [],
): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const mapped = toReconcileError(err, action);
    if (mapped.status !== undefined && tolerate.includes(mapped.status)) return undefined;
    throw mapped;
  }
}
