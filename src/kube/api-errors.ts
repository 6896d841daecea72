import {
  ApiException,
  Observable,
  setHeaderOptions,
  type ConfigurationOptions,
} from '@kubernetes/client-node';
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
  // An abort is a DOMException, which is not an Error of every realm (jest's, for one).
  const name = (err as { name?: unknown } | null)?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  return new ReconcileError(timedOut ? 'Timeout' : 'KubeApi', `${action}: ${message}`, {
    cause: err,
  });
}

/** Options of one API call: it is aborted after `timeoutMs`, and carries `headers`. */
export function callOptions(
  timeoutMs: number,
  headers: Record<string, string> = {},
): ConfigurationOptions {
  let options: ConfigurationOptions = {
    middleware: [
      {
        pre: (request) => {
          request.setSignal(AbortSignal.timeout(timeoutMs));
          return new Observable(Promise.resolve(request));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
  for (const [name, value] of Object.entries(headers))
    options = setHeaderOptions(name, value, options);
  return options;
}

export interface CallOptions {
  /** Every call gives up after this: a hung apiserver connection must not hang a reconcile. */
  timeoutMs: number;
  headers?: Record<string, string>;
  /** HTTP statuses that mean success here (409 on create, 404 on delete): `undefined`. */
  tolerate?: number[];
}

/** Runs a call with its timeout and headers, mapping errors to ReconcileErrors. */
export async function call<T>(
  action: string,
  fn: (options: ConfigurationOptions) => Promise<T>,
  opts: CallOptions,
): Promise<T | undefined> {
  try {
    return await fn(callOptions(opts.timeoutMs, opts.headers));
  } catch (err) {
    const mapped = toReconcileError(err, action);
    if (mapped.status !== undefined && opts.tolerate?.includes(mapped.status)) return undefined;
    throw mapped;
  }
}
