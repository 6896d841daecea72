import { afterEach, describe, expect, it } from '@jest/globals';
import { settle } from '../controller/testing/fake-clock.ts';
import { ReconcileError } from '../controller/errors.ts';
import type { Manager } from './manager.ts';
import { counted, fakeManager, fakeWorld } from './testing/fake-operator.ts';
import { report } from './testing/fixtures.ts';

const OPT_IN = { annotations: { 'wasm-node': 'true' } };
const NO_LEASE = { leaderElection: { enabled: false } };

const running: Manager[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.stop()));
});

function start(world: ReturnType<typeof fakeWorld>, overrides = {}, identity?: string) {
  const made = fakeManager(world, overrides, identity);
  running.push(made.manager);
  return made;
}

const jobsOf = (world: ReturnType<typeof fakeWorld>) => [...world.cluster.jobObjects.keys()];
const status = (world: ReturnType<typeof fakeWorld>, node: string) =>
  world.cluster.node(node)?.metadata.labels['wasm-node.dev/status'];

describe('Manager', () => {
  it('is ready only once the caches are synced, and says so on /readyz', async () => {
    const world = fakeWorld();
    const { manager } = start(world, NO_LEASE);
    await manager.start();
    expect(manager.ready).toBe(true);
    const readyz = await fetch(`http://127.0.0.1:${manager.port}/readyz`);
    expect(readyz.status).toBe(200);
  });

  it('the leader reconciles: an opted-in node gets its Job, whose end (mapped to its node) is recorded, then the Job goes', async () => {
    const world = fakeWorld();
    world.cluster.setNode('n1', OPT_IN);
    const { manager, metrics } = start(world, NO_LEASE);
    await manager.start();
    await settle();
    const [job] = jobsOf(world);
    expect(job).toMatch(/^wasm-install-n1-/);
    expect(status(world, 'n1')).toBe('installing');

    world.cluster.finishJob(job!, { succeeded: true, message: JSON.stringify(report()) });
    await settle();
    expect(status(world, 'n1')).toBe('ready');
    expect(world.cluster.node('n1')?.metadata.labels['runtime.wasm-node.dev/spin']).toBe('ready');
    expect(jobsOf(world)).toEqual([]);
    expect(await counted(metrics.jobsStarted)).toBe(1);
    expect([...world.cluster.runtimeClasses.keys()].sort()).toEqual(['spin', 'wasmtime']);
  });

  it('drops Node updates whose view did not change (a kubelet status write), not those that did', async () => {
    const world = fakeWorld();
    world.cluster.setNode('n1');
    const { manager, metrics } = start(world, NO_LEASE);
    await manager.start();
    await settle();
    const reconciles = () => counted(metrics.reconciles, { kind: 'node' });
    const before = await reconciles();
    world.cluster.setNode('n1', {});
    await settle();
    expect(await reconciles()).toBe(before);
    world.cluster.setNode('n1', { labels: { zone: 'b' } });
    await settle();
    expect(await reconciles()).toBe(before + 1);
  });

  it('a node waiting for a rollout slot starts as soon as a Job finishes, not at the safety recheck', async () => {
    const world = fakeWorld();
    world.cluster.setNode('n1', OPT_IN);
    world.cluster.setNode('n2', OPT_IN);
    const { manager } = start(world, { ...NO_LEASE, rollout: { maxConcurrentInstalls: 1 } });
    await manager.start();
    await settle();
    expect(jobsOf(world)).toHaveLength(1);
    const [first] = jobsOf(world);
    const waiting = first!.includes('-n1-') ? 'n2' : 'n1';
    expect(status(world, waiting)).toBeUndefined();

    world.cluster.finishJob(first!, { succeeded: true, message: JSON.stringify(report()) });
    await settle();
    expect(jobsOf(world)).toEqual([expect.stringContaining(`-${waiting}-`)]);
  });

  it('a failed API call is counted by its reason and retried with the queue backoff', async () => {
    const world = fakeWorld();
    world.cluster.setNode('n1', OPT_IN);
    const { manager, metrics } = start(world, NO_LEASE);
    world.cluster.failNext(
      'patchNodeMetadata',
      new ReconcileError('Conflict', 'stale', { status: 409 }),
    );
    await manager.start();
    await settle();
    expect(await counted(metrics.errors, { reason: 'Conflict' })).toBe(1);
    expect(jobsOf(world)).toEqual([]);
    await world.clock.advance(100);
    expect(jobsOf(world)).toHaveLength(1);
  });

  it('only the Lease holder reconciles; a stopping leader hands over to the warm standby', async () => {
    const world = fakeWorld();
    world.cluster.setNode('n1', OPT_IN);
    const a = start(world, {}, 'operator-a');
    const b = start(world, {}, 'operator-b');
    await a.manager.start();
    await world.clock.advance(1);
    await b.manager.start();
    await world.clock.advance(1_000);
    expect([a.manager.isLeader, b.manager.isLeader]).toEqual([true, false]);
    expect(b.manager.ready).toBe(true);
    expect(await counted(b.metrics.reconciles)).toBe(0);
    expect(jobsOf(world)).toHaveLength(1);

    await a.manager.stop();
    world.cluster.setNode('n2', OPT_IN);
    await world.clock.advance(1_000);
    expect(b.manager.isLeader).toBe(true);
    expect(jobsOf(world)).toEqual([
      expect.stringContaining('-n1-'),
      expect.stringContaining('-n2-'),
    ]);
  });
});
