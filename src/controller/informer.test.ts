import { describe, expect, it } from '@jest/globals';
import {
  listAllPages,
  ResilientInformer,
  ResourceExpired,
  type Lifecycle,
  type ListChunk,
  type ListerWatcher,
  type ListPage,
  type WatchEvent,
} from './informer.ts';
import { FakeClock, settle } from './testing/fake-clock.ts';

/** What a cache might keep of a Node: name, version and its own labels only. */
interface Slim {
  metadata: { name: string; resourceVersion: string; labels: Record<string, string> };
}
const slim = (raw: unknown): Slim => {
  const { name, resourceVersion, labels } = (raw as { metadata: Slim['metadata'] }).metadata;
  return { metadata: { name, resourceVersion, labels } };
};

function fatNode(name: string, rv: string, labels: Record<string, string> = {}) {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: rv,
      labels: { 'kubernetes.io/hostname': name, ...labels },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      managedFields: [{ manager: 'kubelet', operation: 'Update' }],
    },
    status: { images: [{ names: ['registry.example/big-image:1'], sizeBytes: 1 }] },
  };
}

interface OpenWatch {
  from: string;
  timeoutSeconds: number;
  send(type: WatchEvent['type'], object: WatchEvent['object']): void;
  end(): void;
  fail(err: Error): void;
}

/** A scripted API: `lists` answers list calls in turn; every watch stays open until told. */
function fakeSource(lists: (() => ListChunk)[]) {
  const watches: OpenWatch[] = [];
  let listed = 0;
  const source: ListerWatcher = {
    async list() {
      const next = lists[Math.min(listed++, lists.length - 1)]!;
      return next();
    },
    watch(from, { timeoutSeconds, signal }, onEvent) {
      return new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')));
        watches.push({
          from,
          timeoutSeconds,
          send: (type, object) => onEvent({ type, object }),
          end: resolve,
          fail: reject,
        });
      });
    },
  };
  return { source, watches, lists: () => listed };
}

function informer(source: ListerWatcher, clock: FakeClock) {
  const events: Lifecycle[] = [];
  const added: string[] = [];
  const updated: [Slim, Slim | undefined][] = [];
  const deleted: string[] = [];
  const inf = new ResilientInformer<Slim>({
    resource: 'nodes',
    source,
    slim,
    clock,
    restartBackoff: { initial: 1000, max: 8000 },
    watchTimeoutMs: 300_000,
    resyncMs: 0,
    onAdd: (n) => added.push(n.metadata.name),
    onUpdate: (n, old) => updated.push([n, old]),
    onDelete: (n) => deleted.push(n.metadata.name),
    onLifecycle: (e) => events.push(e),
  });
  return { inf, events, added, updated, deleted };
}

const page =
  (rv: string, ...items: unknown[]): (() => ListChunk) =>
  () => ({
    items,
    metadata: { resourceVersion: rv },
  });

describe('ResilientInformer', () => {
  it('restarts after a failed list with backoff, is synced only after a complete list, keeps slim objects, hands updates the object they replace, and stays stopped after stop()', async () => {
    const clock = new FakeClock();
    const api = fakeSource([
      () => {
        throw new Error('connection refused');
      },
      page('10', fatNode('n1', '10')),
    ]);
    const { inf, events, added, updated } = informer(api.source, clock);
    inf.start();
    await settle();
    expect(events).toEqual(['connected', 'error']);
    expect(inf.synced).toBe(false);

    // Backoff is 1 s + up to 20 % jitter: nothing before it, a restart after it.
    await clock.advance(999);
    expect(events).toHaveLength(2);
    await clock.advance(300);
    expect(events.slice(2)).toEqual(['restarting', 'connected', 'synced']);
    expect(inf.list()).toEqual([
      {
        metadata: { name: 'n1', resourceVersion: '10', labels: { 'kubernetes.io/hostname': 'n1' } },
      },
    ]);
    const [watch] = api.watches;
    expect(watch?.from).toBe('10');
    expect(watch?.timeoutSeconds).toBeGreaterThanOrEqual(270);
    expect(watch?.timeoutSeconds).toBeLessThanOrEqual(330);

    // Watch events are slimmed before they reach the cache too.
    watch!.send('ADDED', fatNode('n2', '11'));
    expect(added).toEqual(['n1', 'n2']);
    expect(JSON.stringify(inf.get('n2'))).not.toMatch(/images|ttl|managedFields|uid/);
    watch!.send('MODIFIED', fatNode('n2', '12', { zone: 'b' }));
    const [[now, before]] = updated as [[Slim, Slim | undefined]];
    expect(now.metadata).toMatchObject({ resourceVersion: '12', labels: { zone: 'b' } });
    expect(before?.metadata.resourceVersion).toBe('11');

    await inf.stop();
    await clock.advance(60_000);
    expect(events.at(-1)).toBe('stopped');
    expect(events.filter((e) => e === 'restarting')).toHaveLength(1);
  });

  it('resumes a watch the server ended from the last resourceVersion (a bookmark counts), without listing again', async () => {
    const clock = new FakeClock();
    const api = fakeSource([page('10', fatNode('n1', '10'))]);
    const { inf } = informer(api.source, clock);
    inf.start();
    await settle();
    api.watches[0]!.send('MODIFIED', fatNode('n1', '15'));
    api.watches[0]!.send('BOOKMARK', { metadata: { resourceVersion: '20' } });
    api.watches[0]!.end();
    await settle();
    expect(api.watches.map((w) => w.from)).toEqual(['10', '20']);
    expect(api.lists()).toBe(1);
    await inf.stop();
  });

  it('lists again when the resourceVersion expired (410), and reports what changed meanwhile as adds, updates and deletes', async () => {
    const clock = new FakeClock();
    const api = fakeSource([
      page('10', fatNode('n1', '10'), fatNode('n2', '10')),
      page('30', fatNode('n2', '25'), fatNode('n3', '28')),
    ]);
    const { inf, added, updated, deleted } = informer(api.source, clock);
    inf.start();
    await settle();
    api.watches[0]!.fail(new ResourceExpired('too old resource version: 10'));
    await settle();
    expect(api.lists()).toBe(2);
    expect(added).toEqual(['n1', 'n2', 'n3']);
    expect(updated.map(([n]) => `${n.metadata.name}@${n.metadata.resourceVersion}`)).toEqual([
      'n2@25',
    ]);
    expect(deleted).toEqual(['n1']);
    expect(api.watches.map((w) => w.from)).toEqual(['10', '30']);
    await inf.stop();
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
