import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { KubeConnection } from './connection.ts';

export interface TransportRequest {
  method: string;
  /** Path and query, e.g. /api/v1/nodes?limit=500. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The request is cancelled after this, with an error named TimeoutError. */
  timeoutMs: number;
}

export interface TransportResponse {
  status: number;
  body: string;
}

export interface StreamRequest {
  path: string;
  headers?: Record<string, string>;
  /** The stream is cancelled when no bytes arrived for this long (a silently dead peer). */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

/** How the API is reached: plain requests and newline-delimited streams (watches). */
export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
  /**
   * Calls onLine for every line of a 2xx response and resolves when the server ends it; an
   * error status rejects with HttpStatusError.
   */
  stream(req: StreamRequest, onLine: (line: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** Called for every request sent (the request counter). */
export type RequestHook = (method: string, path: string, contentType: string) => void;

const { HTTP2_HEADER_STATUS, NGHTTP2_CANCEL } = http2.constants;
/** Go's HTTP/2 transport: 4 MiB per stream, so a list page does not wait on window updates. */
const STREAM_WINDOW = 4 << 20;
const SESSION_WINDOW = 64 << 20;
/** client-go's ReadIdleTimeout and PingTimeout: an idle connection is pinged, a dead one closed. */
const PING_AFTER_IDLE_MS = 30_000;
const PING_TIMEOUT_MS = 15_000;

/** A stream the apiserver answered with an error status (the body is its Status object). */
export class HttpStatusError extends Error {
  readonly status: number;
  readonly body: string;

  constructor(status: number, body: string) {
    super(`HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.body = body;
  }
}

function timeoutError(what: string, ms: number): Error {
  const error = new Error(`${what}: no answer within ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}

/**
 * Every call and every watch over one HTTP/2 connection, as client-go does: one TLS handshake
 * for the life of the connection instead of one per request (client-node 2.x builds a new
 * connection pool per call). A connection that fails, or that the apiserver closes (GOAWAY on
 * restart), is replaced on the next request; in-flight requests fail and are retried by their
 * callers.
 */
export function http2Transport(conn: KubeConnection, onRequest?: RequestHook): Transport {
  let current: ClientHttp2Session | undefined;
  let connecting: Promise<ClientHttp2Session> | undefined;
  let closed = false;

  const connect = async (): Promise<ClientHttp2Session> => {
    const tls = await conn.tls();
    return new Promise((resolve, reject) => {
      const session = http2.connect(conn.server, {
        ...tls,
        settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
      });
      const forget = () => {
        if (current === session) current = undefined;
      };
      session.once('connect', () => {
        session.setLocalWindowSize(SESSION_WINDOW);
        current = session;
        resolve(session);
      });
      // Before connect, an error fails the connect; after, the session's streams fail with
      // it and the next request connects again. (An error without a listener would crash.)
      session.on('error', (err) => {
        forget();
        reject(err);
      });
      session.once('goaway', forget);
      session.once('close', forget);
      // The process lives for its server and timers, not for an idle API connection.
      session.unref();
      session.setTimeout(PING_AFTER_IDLE_MS, () => {
        const deadline = setTimeout(() => session.destroy(), PING_TIMEOUT_MS).unref();
        session.ping((err) => {
          clearTimeout(deadline);
          if (err) session.destroy();
        });
      });
    });
  };

  const session = (): Promise<ClientHttp2Session> => {
    if (closed) return Promise.reject(new Error('transport closed'));
    if (current && !current.closed && !current.destroyed) return Promise.resolve(current);
    connecting ??= connect().finally(() => (connecting = undefined));
    return connecting;
  };

  /** The live session, or one being connected that fails after `withinMs` (a hung connect). */
  const sessionWithin = async (what: string, withinMs: number): Promise<ClientHttp2Session> => {
    if (current && !current.closed && !current.destroyed) return current;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError(`connect for ${what}`, withinMs)), withinMs);
    });
    return Promise.race([session(), late]).finally(() => clearTimeout(timer));
  };

  /** A stream for the request, once connected and authenticated. */
  const open = async (
    method: string,
    path: string,
    headers: Record<string, string> = {},
    withinMs: number,
  ): Promise<ClientHttp2Stream> => {
    const s = await sessionWithin(`${method} ${path}`, withinMs);
    const auth = await conn.authHeaders();
    onRequest?.(method, path, headers['content-type'] ?? '');
    return s.request({ ':method': method, ':path': path, ...auth, ...headers });
  };

  return {
    async request({ method, path, headers, body, timeoutMs }) {
      const start = Date.now();
      const stream = await open(method, path, headers, timeoutMs);
      return new Promise<TransportResponse>((resolve, reject) => {
        let status = 0;
        const chunks: Buffer[] = [];
        const timer = setTimeout(
          () => {
            stream.close(NGHTTP2_CANCEL);
            reject(timeoutError(`${method} ${path}`, timeoutMs));
          },
          timeoutMs - (Date.now() - start),
        );
        stream.on('response', (h) => (status = Number(h[HTTP2_HEADER_STATUS])));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          clearTimeout(timer);
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        });
        stream.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.end(body);
      });
    },

    async stream({ path, headers, idleTimeoutMs, signal }, onLine) {
      signal.throwIfAborted();
      const stream = await open('GET', path, headers, idleTimeoutMs);
      return new Promise((resolve, reject) => {
        let status = 0;
        let partial = '';
        let settled = false;
        const abort = () => stream.close(NGHTTP2_CANCEL);
        signal.addEventListener('abort', abort, { once: true });
        const done = (err?: unknown) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', abort);
          if (err) reject(err);
          else if (signal.aborted) reject(signal.reason);
          else if (status < 200 || status > 299) reject(new HttpStatusError(status, partial));
          else resolve();
        };
        stream.setTimeout(idleTimeoutMs, () => {
          stream.close(NGHTTP2_CANCEL);
          done(timeoutError(`watch ${path}`, idleTimeoutMs));
        });
        stream.setEncoding('utf8');
        stream.on('response', (h) => (status = Number(h[HTTP2_HEADER_STATUS])));
        stream.on('data', (chunk: string) => {
          if (status < 200 || status > 299) {
            partial += chunk;
            return;
          }
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line !== '') onLine(line);
        });
        stream.on('end', () => {
          if (partial !== '' && status >= 200 && status <= 299) onLine(partial);
          done();
        });
        stream.on('error', (err) => done(err));
        stream.on('close', () => done());
        stream.end();
      });
    },

    async close() {
      closed = true;
      const s = current;
      current = undefined;
      if (s && !s.closed) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
