import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2, { type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ResourceExpired, type WatchEvent } from '../controller/informer.ts';
import { listerWatcher, METADATA_LIST } from './api-informers.ts';
import { http2Transport, type Transport } from './http2-transport.ts';

// A loopback HTTP/2 server (cleartext) that answers list and watch requests as the test says.
let server: Http2Server;
let respond: (stream: ServerHttp2Stream, path: string) => void = () => undefined;
const asked: { path: string; accept: string }[] = [];
let transport: Transport;

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    asked.push({ path, accept: String(headers.accept) });
    respond(stream, path);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  transport = http2Transport({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tls: async () => ({}),
    authHeaders: async () => ({}),
  });
});
afterAll(async () => {
  await transport.close();
  server.close();
});

const nodes = (metadataOnly: boolean) =>
  listerWatcher(transport, { path: '/api/v1/nodes', metadataOnly }, 1000);

const watchAll = async (from: string) => {
  const events: WatchEvent[] = [];
  await nodes(true).watch(
    from,
    { timeoutSeconds: 300, signal: new AbortController().signal },
    (e) => void events.push(e),
  );
  return events;
};

describe('lists and watches over the transport', () => {
  it('lists a page as PartialObjectMetadata with limit and continue, and keeps the continue token', async () => {
    respond = (stream) => {
      stream.respond({ ':status': 200 });
      stream.end(
        JSON.stringify({
          items: [{ metadata: { name: 'a' } }],
          metadata: { resourceVersion: '7', continue: 'next' },
        }),
      );
    };
    asked.length = 0;
    const page = await nodes(true).list({ limit: 500, _continue: 'tok' });
    expect(page).toEqual({
      items: [{ metadata: { name: 'a' } }],
      metadata: { resourceVersion: '7', _continue: 'next' },
    });
    expect(asked).toEqual([
      { path: '/api/v1/nodes?limit=500&continue=tok', accept: METADATA_LIST },
    ]);
  });

  it('delivers watch events split across chunks, bookmarks included, from the resourceVersion asked', async () => {
    respond = (stream) => {
      stream.respond({ ':status': 200 });
      const lines = [
        { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '8' } } },
        { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n');
      stream.write(lines.slice(0, 30));
      setTimeout(() => stream.end(`${lines.slice(30)}\n`), 20);
    };
    asked.length = 0;
    expect(await watchAll('7')).toEqual([
      { type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '8' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } },
    ]);
    expect(asked[0]?.path).toBe(
      '/api/v1/nodes?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=7',
    );
    expect(asked[0]?.accept).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
  });

  it('an expired resourceVersion, as an ERROR event or as HTTP 410, means: list again', async () => {
    respond = (stream) => {
      stream.respond({ ':status': 200 });
      stream.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version: 7 (9)' } })}\n`,
      );
    };
    await expect(watchAll('7')).rejects.toBeInstanceOf(ResourceExpired);
    respond = (stream) => {
      stream.respond({ ':status': 410 });
      stream.end(JSON.stringify({ kind: 'Status', code: 410, message: 'gone' }));
    };
    await expect(watchAll('7')).rejects.toBeInstanceOf(ResourceExpired);
    respond = (stream) => {
      stream.respond({ ':status': 403 });
      stream.end(JSON.stringify({ kind: 'Status', code: 403, message: 'forbidden' }));
    };
    await expect(watchAll('7')).rejects.toThrow(/HTTP 403/);
  });
});
