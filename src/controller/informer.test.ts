import { afterEach, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  listAllPages,
  ResilientInformer,
  type Lifecycle,
  type ListChunk,
  type ListPage,
} from './informer.ts';
import { FakeClock, until } from './testing/fake-clock.ts';

/** What a cache might keep of a Node: name, version and its own labels only. */
interface Slim {
  metadata: { name: string; resourceVersion: string; labels: Record<string, string> };
}
const slim = (raw: unknown): Slim => {
  const { name, resourceVersion, labels } = (raw as { metadata: Slim['metadata'] }).metadata;
  return { metadata: { name, resourceVersion, labels } };
};

/** A loopback apiserver stand-in that serves only the node watch; the test scripts the list. */
async function watchServer(): Promise<{
  server: Server;
  kc: KubeConfig;
  watches: string[];
  send: (type: string, obj: unknown) => void;
}> {
  const watches: string[] = [];
  const open: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    watches.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    open.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const send = (type: string, object: unknown) =>
    open.forEach((r) => r.write(`${JSON.stringify({ type, object })}\n`));
  return { server, kc, watches, send };
}

function fatNode(name: string, rv: string, labels: Record<string, string> = {}) {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: rv,
      labels: { 'kubernetes.io/hostname': name, ...labels },
      annotations: {
        'wasm-node': 'true',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      managedFields: [{ manager: 'kubelet', operation: 'Update' }],
    },
    status: { images: [{ names: ['registry.example/big-image:1'], sizeBytes: 1 }], conditions: [] },
  };
}

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

describe('ResilientInformer', () => {
  it('restarts after a failed list with backoff, is synced only after a complete list, keeps slim objects, hands updates the object they replace, and stays stopped after stop()', async () => {
    const fake = await watchServer();
    server = fake.server;
    const clock = new FakeClock();
    const events: Lifecycle[] = [];
    const added: Slim[] = [];
    const updated: [Slim, Slim | undefined][] = [];
    let lists = 0;
    const informer = new ResilientInformer<Slim>({
      resource: 'nodes',
      kc: fake.kc,
      path: '/api/v1/nodes',
      list: async () => {
        lists++;
        if (lists === 1) throw new Error('connection refused');
        return { items: [fatNode('n1', '10')], metadata: { resourceVersion: '10' } };
      },
      slim,
      clock,
      restartBackoff: { initial: 1000, max: 8000 },
      watchTimeoutMs: 300_000,
      resyncMs: 0,
      onAdd: (n) => added.push(n),
      onUpdate: (n, old) => updated.push([n, old]),
      onLifecycle: (e) => events.push(e),
    });
    informer.start();
    await until('the failed list', () => events.length === 2);
    expect(events).toEqual(['connected', 'error']);
    expect(informer.synced).toBe(false);

    // Backoff is 1 s + up to 20 % jitter: nothing before it, a restart after it.
    await clock.advance(999);
    expect(events).toHaveLength(2);
    await clock.advance(300);
    await until('the restarted informer to sync', () => informer.synced);
    expect(events.slice(2)).toEqual(['restarting', 'connected', 'synced']);
    expect(informer.synced).toBe(true);
    expect(informer.list()).toEqual([
      {
        metadata: { name: 'n1', resourceVersion: '10', labels: { 'kubernetes.io/hostname': 'n1' } },
      },
    ]);
    expect(fake.watches[0]).toMatch(
      /^\/api\/v1\/nodes\?timeoutSeconds=(2[7-9]\d|3[0-2]\d|330)&allowWatchBookmarks=true&watch=true&resourceVersion=10$/,
    );

    // Watch events are slimmed before they reach the cache too.
    fake.send('ADDED', fatNode('n2', '11'));
    await until('n2 added', () => added.length === 2);
    expect(added.map((n) => n.metadata.name)).toEqual(['n1', 'n2']);
    expect(JSON.stringify(informer.get('n2'))).not.toMatch(/images|ttl|managedFields|uid/);

    fake.send('MODIFIED', fatNode('n2', '12', { zone: 'b' }));
    await until('n2 updated', () => updated.length === 1);
    const [[now, before]] = updated as [[Slim, Slim | undefined]];
    expect(now.metadata).toMatchObject({ resourceVersion: '12', labels: { zone: 'b' } });
    expect(before?.metadata.resourceVersion).toBe('11');

    await informer.stop();
    await clock.advance(60_000);
    expect(events.at(-1)).toBe('stopped');
    expect(events.filter((e) => e === 'restarting')).toHaveLength(1);
  });
});

describe('listAllPages', () => {
  it('follows continue tokens, slims each page, and keeps the snapshot resourceVersion', async () => {
    const pages: Record<string, ListChunk> = {
      '': { items: [{ n: 1 }, { n: 2 }], metadata: { resourceVersion: '7', _continue: 'a' } },
      a: { items: [{ n: 3 }, { n: 4 }], metadata: { resourceVersion: '7', _continue: 'b' } },
      b: { items: null, metadata: { resourceVersion: '7', _continue: '' } },
    };
    const asked: ListPage[] = [];
    const result = await listAllPages(
      async (page) => {
        asked.push(page);
        return pages[page._continue ?? ''] as ListChunk;
      },
      (raw) => (raw as { n: number }).n * 10,
      2,
    );
    expect(result).toEqual({ items: [10, 20, 30, 40], metadata: { resourceVersion: '7' } });
    expect(asked).toEqual([
      { limit: 2 },
      { limit: 2, _continue: 'a' },
      { limit: 2, _continue: 'b' },
    ]);
  });
});
