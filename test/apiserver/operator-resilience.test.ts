import { describe, expect, it } from '@jest/globals';
import { waitFor } from '../support/wait.ts';
import { createNode, isFinished, jobs, leaseHolder } from './support/test-cluster.ts';
import { installReport } from './support/fake-kubelet.ts';
import { metricValue } from './support/operator-harness.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';

const bed = useOperatorTestbed();

async function readyCount(): Promise<number> {
  return (await bed.c.core.listNode({ labelSelector: 'wasm-node.dev/status=ready' })).items.length;
}

async function finishAll(): Promise<void> {
  for (const job of (await jobs(bed.c)).filter((j) => !isFinished(j))) {
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
  }
}

describe('resilience (the test acts as kubelet and Job controller through the status subresources)', () => {
  it('an apiserver restart in the middle of a rollout: the watches recover and the rollout completes', async () => {
    const op = await bed.startOperator({ rollout: { maxConcurrentInstalls: 2 } });
    for (let i = 0; i < 6; i++)
      await createNode(bed.c, `restart-${i}`, { annotations: { 'wasm-node': 'true' } });
    await waitFor('the first Jobs', async () => (await jobs(bed.c)).length >= 2, {
      timeoutMs: 20_000,
    });
    await finishAll();

    await bed.c.cp.restartApiserver();
    // A node created after the restart is only seen through a recovered watch.
    await createNode(bed.c, 'restart-late', { annotations: { 'wasm-node': 'true' } });
    await waitFor(
      'all 7 nodes ready',
      async () => {
        await finishAll();
        return (await readyCount()) === 7;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(
      await metricValue(op.metrics, 'wasm_node_operator_watch_restarts_total'),
    ).toBeGreaterThan(0);
    expect(op.logs.some((l) => l.includes('watch error; restarting with backoff'))).toBe(true);
    expect(op.manager.ready).toBe(true);
  }, 120_000);

  it('two operator instances: only the leader creates Jobs; when it stops, the standby takes over and finishes the rollout', async () => {
    const jobsSeen = await bed.watchJobs();
    const a = await bed.startOperator({ rollout: { maxConcurrentInstalls: 1 } }, 'operator-a');
    await waitFor('a to lead', () => a.manager.isLeader, { timeoutMs: 10_000 });
    const b = await bed.startOperator({ rollout: { maxConcurrentInstalls: 1 } }, 'operator-b');
    for (let i = 0; i < 3; i++)
      await createNode(bed.c, `ha-${i}`, { annotations: { 'wasm-node': 'true' } });
    // One Job at a time, finished one by one: the third stays running when the leader stops, so
    // the standby must adopt a rollout in flight. Finishing in bulk raced the ready count past 2.
    for (let n = 1; n <= 2; n++) {
      await waitFor(`Job ${n}`, () => jobsSeen.seen.size === n, { timeoutMs: 20_000 });
      await finishAll();
      await waitFor(`${n} ready nodes`, async () => (await readyCount()) === n, {
        timeoutMs: 20_000,
      });
    }
    await waitFor('the third Job', () => jobsSeen.seen.size === 3, { timeoutMs: 20_000 });
    expect(b.manager.isLeader).toBe(false);
    expect(b.logs.some((l) => l.includes('installer job created'))).toBe(false);
    expect(await metricValue(b.metrics, 'wasm_node_operator_reconcile_total')).toBe(0);
    // The standby is warm: its caches are synced, so it is ready (a Deployment rollout needs that).
    expect(b.manager.ready).toBe(true);

    // A stopping leader releases the Lease (empty holder), so the standby does not wait for
    // it to expire (the elector's unit tests pin the timing down with a fake clock).
    const stoppedAt = Date.now();
    await a.stop();
    expect(await leaseHolder(bed.c)).toBeUndefined();
    await waitFor('b to lead', () => b.manager.isLeader, { timeoutMs: 10_000 });
    const failoverMs = Date.now() - stoppedAt;
    await createNode(bed.c, 'ha-late', { annotations: { 'wasm-node': 'true' } });
    await waitFor(
      'all 4 ready',
      async () => {
        await finishAll();
        return (await readyCount()) === 4;
      },
      { timeoutMs: 30_000 },
    );
    expect(b.logs.some((l) => l.includes('installer job created') && l.includes('ha-late'))).toBe(
      true,
    );
    expect(jobsSeen.maxActive).toBe(1);
    process.stdout.write(`in-process failover after graceful stop: ${failoverMs} ms\n`);
  }, 120_000);
});
