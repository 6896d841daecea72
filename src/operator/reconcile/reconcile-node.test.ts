import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { ReconcileError } from '../../controller/errors.ts';
import { jobViewOf } from '../../kube/views.ts';
import { EventRecorder } from '../event-recorder.ts';
import { NodeStates } from '../fleet/node-states.ts';
import { RolloutGate } from '../fleet/rollout-gate.ts';
import { keepAnnotation } from '../keys.ts';
import { createMetrics } from '../metrics.ts';
import { optInPolicy } from '../plan/opt-in.ts';
import { fakeWorld } from '../testing/fake-operator.ts';
import { report } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';
import type { ReconcileContext } from './context.ts';
import { reconcileNode } from './reconcile-node.ts';

function context(world: ReturnType<typeof fakeWorld>, maxConcurrent = 1): ReconcileContext {
  const config = testConfig({ rollout: { maxConcurrentInstalls: maxConcurrent } });
  const metrics = createMetrics();
  const kube = world.cluster.port();
  const { clock } = world;
  return {
    config,
    policy: optInPolicy(config),
    kube,
    clock,
    log: pino({ level: 'silent' }),
    metrics,
    events: new EventRecorder({ kube, clock, namespace: 'default', windowMs: 60_000 }),
    gate: new RolloutGate({
      maxConcurrent: maxConcurrent,
      failureBudget: 0,
      clock,
      counts: () => ({
        optedIn: 2,
        failed: 0,
        running: new Set(),
        controlPlane: new Set(),
        ready: () => true,
      }),
    }),
    states: new NodeStates(metrics.nodes),
    jobsFor: () => [],
    bootIdOf: () => undefined,
  };
}

const optedIn = (world: ReturnType<typeof fakeWorld>, name: string) => {
  world.cluster.setNode(name, { annotations: { 'wasm-node': 'true' } });
  return world.cluster.node(name)!;
};

describe('reconcileNode(node, ctx) → Action', () => {
  it('two nodes reconciled at once with one free slot: one starts its Job, the other waits in line', async () => {
    const world = fakeWorld();
    const ctx = context(world);
    const actions = await Promise.all([
      reconcileNode(optedIn(world, 'n1'), ctx),
      reconcileNode(optedIn(world, 'n2'), ctx),
    ]);
    expect(actions).toEqual([{ kind: 'done' }, { kind: 'awaitSlot' }]);
    expect([...world.cluster.jobObjects.keys()]).toEqual([expect.stringContaining('-n1-')]);
    expect(ctx.gate.takeWaiters()).toEqual([]);
  });

  it('a failed create gives its slot back and fails with the reason of the API error', async () => {
    const world = fakeWorld();
    const ctx = context(world);
    world.cluster.failNext('createJob', new ReconcileError('KubeApi', 'etcd timeout'));
    await expect(reconcileNode(optedIn(world, 'n1'), ctx)).rejects.toMatchObject({
      reason: 'KubeApi',
    });
    expect(ctx.gate.factsFor('n2').slotFree).toBe(true);
  });

  it("reads a finished Job's pod once, records its report, and needs nothing more", async () => {
    const world = fakeWorld();
    const ctx = context(world);
    const node = optedIn(world, 'n1');
    await reconcileNode(node, ctx);
    const [name] = [...world.cluster.jobObjects.keys()];
    world.cluster.finishJob(name!, { succeeded: true, message: JSON.stringify(report()) });
    const job = jobViewOf(world.cluster.jobObjects.get(name!)!, keepAnnotation('wasm-node'));
    const action = await reconcileNode(world.cluster.node('n1')!, { ...ctx, jobsFor: () => [job] });
    expect(action).toEqual({ kind: 'done' });
    expect(world.cluster.calls.filter((c) => c.startsWith('listJobPods'))).toHaveLength(1);
    expect(world.cluster.node('n1')?.metadata.labels['wasm-node.dev/status']).toBe('ready');
  });
});
