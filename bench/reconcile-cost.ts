import { GCProfiler, getHeapStatistics } from 'node:v8';
import { settle } from '../src/controller/testing/fake-clock.ts';
import { counted, fakeManager, fakeWorld } from '../src/operator/testing/fake-operator.ts';
import { report } from '../src/operator/testing/fixtures.ts';

export interface ReconcileCost {
  nodes: number;
  reconciles: number;
  /** Process CPU (user + system) per reconcile, µs. */
  cpuUsPerReconcile: number;
  /** Bytes the V8 heap allocated per reconcile (all allocations, kept or collected). */
  allocatedBytesPerReconcile: number;
}

/**
 * Bytes allocated on the V8 heap while `work` runs: the growth of the used heap between
 * collections, summed over every collection in the window (GCProfiler reports the heap
 * before and after each), plus the growth after the last one.
 */
async function allocatedDuring(work: () => Promise<void>): Promise<number> {
  const profiler = new GCProfiler();
  const startUsed = getHeapStatistics().used_heap_size;
  profiler.start();
  await work();
  const endUsed = getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop() as {
    statistics: {
      beforeGC: { heapStatistics: { usedHeapSize: number } };
      afterGC: { heapStatistics: { usedHeapSize: number } };
    }[];
  };
  let allocated = 0;
  let base = startUsed;
  for (const gc of statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - base;
    base = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return allocated + endUsed - base;
}

/**
 * The operator's own cost per reconcile, without the network: a Manager (leader, 100 %
 * rollout) over the in-memory FakeCluster installs `nodes` nodes: each node's Job created,
 * finished with a valid report, recorded and deleted. The figures include the fake cluster's
 * own bookkeeping and exclude logging (silent), so they move with the operator's code only:
 * a regression in planning, caches or the queue shows here.
 */
export async function measureReconcileCost(nodes: number): Promise<ReconcileCost> {
  const world = fakeWorld();
  for (let i = 0; i < nodes; i++)
    world.cluster.setNode(`node-${i}`, { annotations: { 'wasm-node': 'true' } });
  await settle();
  const { manager, metrics } = fakeManager(world, {
    leaderElection: { enabled: false },
    rollout: { maxConcurrentInstalls: '100%' },
  });
  const message = JSON.stringify(report());
  const cpu0 = process.cpuUsage();
  const allocated = await allocatedDuring(async () => {
    await manager.start();
    await settle();
    for (const name of [...world.cluster.jobObjects.keys()])
      world.cluster.finishJob(name, { succeeded: true, message });
    for (let round = 0; world.cluster.jobObjects.size > 0; round++) {
      if (round > 10_000) throw new Error('finished Jobs were never deleted');
      await settle();
    }
  });
  const cpu = process.cpuUsage(cpu0);
  await manager.stop();
  const reconciles = await counted(metrics.reconciles);
  return {
    nodes,
    reconciles,
    cpuUsPerReconcile: (cpu.user + cpu.system) / reconciles,
    allocatedBytesPerReconcile: allocated / reconciles,
  };
}
