import { ApiException } from '@kubernetes/client-node';
import { OperatorError } from '../operator/errors.ts';

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

/** Maps any client error to an OperatorError with a stable reason. */
export function toOperatorError(err: unknown, action: string): OperatorError {
  if (err instanceof OperatorError) return err;
  if (err instanceof ApiException) {
    const code = err.code;
    const reason = code === 409 ? 'Conflict' : code === 404 ? 'NotFound' : 'KubeApi';
    const message = statusMessage(err.body) ?? `HTTP ${code}`;
    return new OperatorError(reason, `${action}: ${message}`, { status: code, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OperatorError('KubeApi', `${action}: ${message}`, { cause: err });
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
    const mapped = toOperatorError(err, action);
    if (mapped.status !== undefined && tolerate.includes(mapped.status)) return undefined;
    throw mapped;
  }
}
