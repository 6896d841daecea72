import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** One API request as kube-apiserver's apiserver_request_total labels it (verb, resource). */
export interface ApiRequest {
  /** GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE or DELETECOLLECTION. */
  verb: string;
  /** Plural resource, with "/subresource" when there is one (e.g. "pods/status"). */
  resource: string;
}

/**
 * Classifies a request to the Kubernetes API the way the apiserver does, so client-side counts
 * can be compared with apiserver_request_total. Undefined for non-resource paths (/version).
 */
export function apiRequestOf(
  method: string,
  url: string,
  contentType = '',
): ApiRequest | undefined {
  // Once per request: plain string work, no URL object (a path, not a full URL, comes in).
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const watch = q >= 0 && /(?:^|&)watch=(?:true|1)(?:&|$)/.test(url.slice(q + 1));
  const parts = pathname.split('/').filter((p) => p !== '');
  // /api/v1/... or /apis/<group>/<version>/...
  const rest =
    parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : undefined;
  if (rest === undefined || rest.length === 0) return undefined;
  const [resource = '', name, subresource] =
    rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const collection = name === undefined;
  switch (method.toUpperCase()) {
    case 'GET':
      if (watch) return { verb: 'WATCH', resource: full };
      return { verb: collection ? 'LIST' : 'GET', resource: full };
    case 'PATCH':
      return {
        verb: contentType.startsWith('application/apply-patch') ? 'APPLY' : 'PATCH',
        resource: full,
      };
    case 'DELETE':
      return { verb: collection ? 'DELETECOLLECTION' : 'DELETE', resource: full };
    default:
      return { verb: method.toUpperCase(), resource: full };
  }
}

interface UndiciRequest {
  origin?: string;
  method: string;
  path: string;
  /** undici ≥ 6: a flat [name, value, name, value, ...] array. */
  headers: string[] | string;
}

function contentTypeOf(headers: string[] | string): string {
  if (typeof headers === 'string')
    return /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === 'content-type') return headers[i + 1] ?? '';
  }
  return '';
}

const CHANNEL = 'undici:request:create';

/**
 * Calls onRequest for every API request this process sends. client-node 2.x sends all its
 * requests (calls and watches) through undici, which publishes each one on a diagnostics
 * channel, so counting needs no wrapper around the generated clients. Returns the unsubscribe.
 */
export function countApiRequests(onRequest: (request: ApiRequest) => void): () => void {
  const listener = (message: unknown) => {
    const { request } = message as { request: UndiciRequest };
    const classified = apiRequestOf(request.method, request.path, contentTypeOf(request.headers));
    if (classified) onRequest(classified);
  };
  subscribe(CHANNEL, listener);
  return () => unsubscribe(CHANNEL, listener);
}
