import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  listAllPages,
  ResilientInformer,
  ResourceExpired,
  type WatchEvent,
} from '../../src/controller/informer.ts';
import { systemClock } from '../../src/controller/clock.ts';
import { listerWatcher } from '../../src/kube/api-informers.ts';
import { apiPort } from '../../src/kube/api-port.ts';
import { simpleKubeconfig } from '../../src/kube/connection.ts';
import { http2Transport, type Transport } from '../../src/kube/http2-transport.ts';
import type { KubePort } from '../../src/kube/kube-port.ts';
import { waitFor } from '../support/wait.ts';
import { startCluster, type TestCluster } from './support/test-cluster.ts';

// The operator's own transport (one HTTP/2 connection, no generated client) against a real
// kube-apiserver: what the connection carries, how lists page, how watches end and expire, and
// what happens when the apiserver restarts underneath it.
let c: TestCluster;
let transport: Transport;
let port: KubePort;
const requests: string[] = [];

beforeAll(async () => {
  c = await startCluster();
  const conn = simpleKubeconfig(c.cp.kubeconfigPath);
  if (!conn)
    throw new Error('the admin kubeconfig (client certificate) is read without client-node');
  transport = http2Transport(conn, (method, path) => requests.push(`${method} ${path}`));
  port = apiPort(transport, {
    fieldManager: 'transport-test',
    reportingInstance: 'test',
    requestTimeoutMs: 10_000,
  });
}, 60_000);
afterAll(async () => {
  await transport?.close();
  await c?.stop();
});

const apiserverPort = () => new URL(c.cp.server).port;

/** Local ports of this process' established TCP connections to the apiserver (from ss). */
function socketsToApiserver(): Set<string> {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `dport = :${apiserverPort()}`], {
    encoding: 'utf8',
  });
  const mine = out.split('\n').filter((l) => l.includes(`pid=${process.pid},`));
  return new Set(mine.map((l) => l.trim().split(/\s+/)[2] ?? ''));
}

async function createNode(name: string): Promise<void> {
  const res = await transport.request({
    method: 'POST',
    path: '/api/v1/nodes',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ metadata: { name, labels: { 'transport-test': 'yes' } } }),
    timeoutMs: 10_000,
  });
  if (res.status !== 201) throw new Error(`create node ${name}: HTTP ${res.status} ${res.body}`);
}

const nodes = (metadataOnly: boolean) =>
  listerWatcher(
    transport,
    { path: '/api/v1/nodes', labelSelector: 'transport-test=yes', metadataOnly },
    10_000,
  );
const nameOf = (raw: unknown) =>
  (raw as { metadata: { name: string }; status?: unknown }).metadata.name;

describe('one HTTP/2 connection to a real kube-apiserver', () => {
  it('carries 200 concurrent requests and two open watches over a single TCP connection', async () => {
    const before = socketsToApiserver();
    const stop = new AbortController();
    const watching = [true, false].map((metadataOnly) =>
      nodes(metadataOnly)
        .watch('', { timeoutSeconds: 300, signal: stop.signal }, () => undefined)
        .catch(() => undefined),
    );
    const sent = requests.length;
    await Promise.all(Array.from({ length: 20 }, (_, i) => createNode(`conn-${i}`)));
    await Promise.all(
      Array.from({ length: 180 }, (_, i) => port.getLease('default', `missing-${i}`)),
    );
    // 200 requests and the 2 watches' GETs.
    expect(requests.length - sent).toBe(202);
    const opened = [...socketsToApiserver()].filter((p) => !before.has(p));
    stop.abort();
    await Promise.all(watching);
    expect(opened).toHaveLength(1);
  }, 60_000);
});

describe('lists and watches through the transport', () => {
  it.each([
    ['PartialObjectMetadata', true],
    ['whole objects', false],
  ])('pages a list (%s) by continue token from one snapshot', async (_kind, metadataOnly) => {
    const listed = await listAllPages(
      (page) => nodes(metadataOnly).list(page),
      (raw) => raw,
      7,
    );
    const names = listed.items.map(nameOf).sort();
    expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `conn-${i}`).sort());
    // A metadata-only list carries no status; a whole Node has one (empty here, no kubelet).
    const kinds = new Set(listed.items.map((raw) => (raw as { kind?: string }).kind));
    expect([...kinds]).toEqual([metadataOnly ? 'PartialObjectMetadata' : undefined]);
    expect(Number(listed.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('a watch from the list delivers ADDED, MODIFIED and DELETED in order, then ends when the server ends it', async () => {
    const { metadata } = await listAllPages((page) => nodes(true).list(page), nameOf);
    const events: string[] = [];
    const watch = nodes(true).watch(
      metadata.resourceVersion ?? '',
      // The server ends this watch after its timeoutSeconds: the promise resolves.
      { timeoutSeconds: 5, signal: new AbortController().signal },
      (e: WatchEvent) => {
        if (e.type !== 'BOOKMARK') events.push(`${e.type} ${nameOf(e.object)}`);
      },
    );
    await createNode('watched');
    await port.patchNodeMetadata('watched', { labels: { touched: 'yes' } });
    const res = await transport.request({
      method: 'DELETE',
      path: '/api/v1/nodes/watched',
      timeoutMs: 10_000,
    });
    expect(res.status).toBe(200);
    await watch;
    expect(events).toEqual(['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
  }, 30_000);
});

describe('the apiserver restarts', () => {
  it('a watch resumed from before the restart fails with ResourceExpired (410): the new watch cache starts later', async () => {
    const { metadata } = await listAllPages((page) => nodes(true).list(page), nameOf);
    await c.cp.restartApiserver();
    await createNode('moved-on');
    const watch = nodes(true).watch(
      metadata.resourceVersion ?? '',
      { timeoutSeconds: 60, signal: new AbortController().signal },
      () => undefined,
    );
    await expect(watch).rejects.toBeInstanceOf(ResourceExpired);
  }, 60_000);

  it("an informer's watch moves to a new connection and catches up with what changed meanwhile; no connection per request after it", async () => {
    const seen = new Set<string>();
    const informer = new ResilientInformer<{ metadata: { name: string } }>({
      clock: systemClock,
      restartBackoff: { initial: 100, max: 1_000 },
      watchTimeoutMs: 300_000,
      resyncMs: 0,
      resource: 'nodes',
      source: nodes(true),
      slim: (raw) => ({ metadata: { name: nameOf(raw) } }),
      onAdd: (n) => seen.add(n.metadata.name),
      onDelete: (n) => seen.delete(n.metadata.name),
    });
    informer.start();
    try {
      await waitFor('the informer to sync', () => informer.synced, { timeoutMs: 20_000 });
      await createNode('before-restart');
      const before = socketsToApiserver();
      await c.cp.restartApiserver();
      await createNode('after-restart');
      await waitFor(
        'the informer to see the node created after the restart',
        () => seen.has('after-restart'),
        { timeoutMs: 30_000 },
      );
      // The connection it had died with the apiserver; from the new one on, requests and a
      // new watch open no further connection (the test's own readiness probe of the restarted
      // apiserver opens one, hence a snapshot rather than a count).
      const reconnected = socketsToApiserver();
      await Promise.all(Array.from({ length: 50 }, (_, i) => port.getLease('default', `x-${i}`)));
      const stop = new AbortController();
      const watching = nodes(false)
        .watch('', { timeoutSeconds: 60, signal: stop.signal }, () => undefined)
        .catch(() => undefined);
      await createNode('after-reconnect');
      const now = socketsToApiserver();
      stop.abort();
      await watching;
      expect([...now].filter((p) => !reconnected.has(p))).toEqual([]);
      expect([...before].filter((p) => now.has(p))).toEqual([]);
      expect(seen.has('before-restart')).toBe(true);
    } finally {
      await informer.stop();
    }
  }, 90_000);
});
