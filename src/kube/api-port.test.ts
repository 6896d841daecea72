import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2, { type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { apiPort } from './api-port.ts';
import { http2Transport, type Transport } from './http2-transport.ts';
import type { KubePort } from './kube-port.ts';

type Handler = (
  stream: ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  body: string,
) => void;

// A loopback HTTP/2 server (cleartext, as h2c) that answers as the test says: by default it
// accepts every request and never answers, the kind of hang (a half-open connection, a stuck
// apiserver) that must not hang a reconcile or the Lease renewal.
let server: Http2Server;
let handler: Handler = () => undefined;
const seen: {
  method: string;
  path: string;
  accept: string;
  contentType: string;
  authorization: string;
  body: string;
}[] = [];
let transport: Transport;
let port: KubePort;

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (body += d));
    stream.on('end', () => {
      seen.push({
        method: String(headers[':method']),
        path: String(headers[':path']),
        accept: String(headers.accept),
        contentType: String(headers['content-type'] ?? ''),
        authorization: String(headers.authorization),
        body,
      });
      handler(stream, headers, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  transport = http2Transport({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tls: async () => ({}),
    authHeaders: async () => ({ authorization: 'Bearer t' }),
  });
  port = apiPort(transport, { fieldManager: 'fm', reportingInstance: 'r', requestTimeoutMs: 50 });
});
afterAll(async () => {
  await transport.close();
  server.close();
});

const lease = { metadata: { name: 'l', namespace: 'ns' } };
const calls: [string, () => Promise<unknown>][] = [
  ['patchNodeMetadata', () => port.patchNodeMetadata('n', { labels: { a: 'b' } })],
  ['createJob', () => port.createJob({ metadata: { name: 'j', namespace: 'ns' } })],
  ['deleteJob', () => port.deleteJob('ns', 'j')],
  ['listJobPods', () => port.listJobPods('ns', { uid: 'uid', labelSelector: 'a=b' })],
  ['listPodsOnNode', () => port.listPodsOnNode('n')],
  [
    'createEvent',
    () =>
      port.createEvent({
        namespace: 'default',
        involved: { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'u' },
        type: 'Normal',
        reason: 'R',
        message: 'm',
      }),
  ],
  ['applyRuntimeClass', () => port.applyRuntimeClass({ metadata: { name: 'rc' }, handler: 'rc' })],
  ['listRuntimeClasses', () => port.listRuntimeClasses('a=b')],
  ['deleteRuntimeClass', () => port.deleteRuntimeClass('rc')],
  ['getLease', () => port.getLease('ns', 'l')],
  ['createLease', () => port.createLease(lease)],
  ['replaceLease', () => port.replaceLease(lease)],
];

const answer =
  (status: number, body: unknown): Handler =>
  (stream) => {
    stream.respond({ ':status': status, 'content-type': 'application/json' });
    stream.end(JSON.stringify(body));
  };

describe('apiPort over one HTTP/2 connection', () => {
  it.each(calls)(
    '%s gives up on an apiserver that never answers (reason Timeout)',
    async (_, fn) => {
      handler = () => undefined;
      await expect(fn()).rejects.toMatchObject({ name: 'ReconcileError', reason: 'Timeout' });
    },
  );

  it('sends merge patches of metadata, asks for metadata only where it reads nothing back, and carries the credentials', async () => {
    handler = answer(200, { metadata: { name: 'n' } });
    seen.length = 0;
    await port.patchNodeMetadata('n', { labels: { a: 'b' }, annotations: { x: null } });
    expect(seen).toEqual([
      {
        method: 'PATCH',
        path: '/api/v1/nodes/n',
        accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
        contentType: 'application/merge-patch+json',
        authorization: 'Bearer t',
        body: '{"metadata":{"labels":{"a":"b"},"annotations":{"x":null}}}',
      },
    ]);
  });

  it('maps statuses to reasons: 409 Conflict, 404 NotFound, others KubeApi with the Status message; tolerated ones are success', async () => {
    handler = answer(409, { kind: 'Status', code: 409, message: 'jobs "j" already exists' });
    await expect(port.createJob({ metadata: { name: 'j', namespace: 'ns' } })).resolves.toBe(false);
    await expect(port.replaceLease(lease)).rejects.toMatchObject({
      reason: 'Conflict',
      status: 409,
      message: 'replace lease: jobs "j" already exists',
    });
    handler = answer(404, { kind: 'Status', code: 404, message: 'not found' });
    await expect(port.deleteJob('ns', 'j')).resolves.toBeUndefined();
    await expect(port.getLease('ns', 'l')).resolves.toBeUndefined();
    await expect(port.patchNodeMetadata('n', {})).rejects.toMatchObject({ reason: 'NotFound' });
    handler = answer(403, { kind: 'Status', code: 403, message: 'forbidden: no' });
    await expect(port.listPodsOnNode('n')).rejects.toMatchObject({
      reason: 'KubeApi',
      status: 403,
    });
  });
});
