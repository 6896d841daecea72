import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientNodePort } from './client-node-port.ts';
import type { KubePort } from './kube-port.ts';

// An apiserver that accepts every request and never answers: the kind of hang (a half-open
// connection, a stuck apiserver) that must not hang a reconcile or the Lease renewal.
let server: Server;
let port: KubePort;

beforeAll(async () => {
  server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  port = clientNodePort(kc, { fieldManager: 'fm', reportingInstance: 'r', requestTimeoutMs: 50 });
});
afterAll(() => {
  server.closeAllConnections();
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

describe('clientNodePort', () => {
  it.each(calls)(
    '%s gives up on an apiserver that never answers (reason Timeout)',
    async (_, fn) => {
      await expect(fn()).rejects.toMatchObject({ name: 'ReconcileError', reason: 'Timeout' });
    },
  );
});
