import { describe, expect, it } from '@jest/globals';
import { waitFor } from '../support/wait.ts';
import {
  annotateNode,
  createNode,
  isFinished,
  jobs,
  waitForActiveJob,
  waitForEventAnywhere,
  waitForNode,
} from './support/test-cluster.ts';
import { installReport } from './support/fake-kubelet.ts';
import { metricValue, type RunningOperator } from './support/operator-harness.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';

const bed = useOperatorTestbed();

async function readyNodes(): Promise<number> {
  const nodes = await bed.c.core.listNode({ labelSelector: 'wasm-node.dev/status=ready' });
  return nodes.items.length;
}

/** Finishes every unfinished Job once (as the kubelet would), with `outcome` deciding success. */
async function finishActiveJobs(outcome: (node: string) => boolean): Promise<number> {
  const active = (await jobs(bed.c)).filter((j) => !isFinished(j));
  for (const job of active) {
    const node = job.metadata!.annotations!['wasm-node.dev/node']!;
    const ok = outcome(node);
    await bed.kubelet.finishWithReport(
      job,
      installReport(['wasmtime', 'spin'], ok ? {} : { ok: false, error: `disk full on ${node}` }),
    );
  }
  return active.length;
}

/** Plays kubelet for every Job the operator starts, until `count` nodes are ready. */
async function finishUntilReady(count: number, what: string, timeoutMs: number): Promise<void> {
  await waitFor(
    what,
    async () => {
      await finishActiveJobs(() => true);
      return (await readyNodes()) === count;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Plays kubelet failing every installer Job until the operator reports the rollout paused. */
async function failUntilPaused(op: RunningOperator): Promise<void> {
  await waitFor(
    'the rollout to pause',
    async () => {
      await finishActiveJobs(() => false);
      return (await metricValue(op.metrics, 'wasm_node_operator_rollout_paused')) === 1;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

describe('rollout limits (the test acts as kubelet and Job controller through the status subresources)', () => {
  it('20 opted-in nodes with maxConcurrentInstalls=3 never have more than 3 active Jobs, and all end up ready', async () => {
    const watcher = await bed.watchJobs();
    const op = await bed.startOperator({ rollout: { maxConcurrentInstalls: 3 } });
    const started = Date.now();
    for (let i = 0; i < 20; i++)
      await createNode(bed.c, `pool-${String(i).padStart(2, '0')}`, {
        annotations: { 'wasm-node': 'true' },
      });
    await finishUntilReady(20, '20 ready nodes', 90_000);
    const elapsed = Date.now() - started;
    expect(watcher.maxActive).toBe(3);
    expect(watcher.seen.size).toBe(20);
    expect(
      await metricValue(op.metrics, 'wasm_node_operator_jobs_started_total', {
        operation: 'install',
      }),
    ).toBe(20);
    process.stdout.write(
      `rollout of 20 nodes at max 3 concurrent took ${elapsed} ms (max active ${watcher.maxActive})\n`,
    );
  }, 120_000);

  it('an installer upgrade re-installs ready nodes through the same limit (8 nodes, max 2)', async () => {
    const v1 = await bed.startOperator({
      installer: { image: 'installer:v1' },
      rollout: { maxConcurrentInstalls: 8 },
    });
    for (let i = 0; i < 8; i++) {
      await createNode(bed.c, `upgrade-${i}`, { annotations: { 'wasm-node': 'true' } });
    }
    await finishUntilReady(8, '8 ready nodes on v1', 60_000);
    await v1.stop();

    const watcher = await bed.watchJobs();
    await bed.startOperator({
      installer: { image: 'installer:v2' },
      rollout: { maxConcurrentInstalls: 2 },
    });
    const v1Hashes = new Set(
      (await bed.c.core.listNode()).items.map(
        (n) => n.metadata!.annotations!['wasm-node.dev/installed-hash'],
      ),
    );
    const v2Ready = async () =>
      (await bed.c.core.listNode()).items.filter(
        (n) =>
          n.metadata?.labels?.['wasm-node.dev/status'] === 'ready' &&
          !v1Hashes.has(n.metadata?.annotations?.['wasm-node.dev/installed-hash']),
      ).length;
    await waitFor(
      'all 8 re-installed with v2',
      async () => {
        await finishActiveJobs(() => true);
        return (await v2Ready()) === 8;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(watcher.maxActive).toBe(2);
    // The watch also lists a v1 Job the stopped operator had not deleted yet: count v2's.
    expect([...watcher.seen].filter((j) => watcher.image.get(j) === 'installer:v2')).toHaveLength(
      8,
    );
  }, 120_000);

  it('a spent failure budget pauses the rollout (Event + metric + log) until failed nodes are retried', async () => {
    const watcher = await bed.watchJobs();
    const op = await bed.startOperator({
      rollout: {
        maxConcurrentInstalls: 2,
        failureBudget: 2,
        retryBackoff: { initial: '1h', max: '1h' },
      },
    });
    const names = Array.from({ length: 6 }, (_, i) => `budget-${i}`);
    for (const name of names)
      await createNode(bed.c, name, { annotations: { 'wasm-node': 'true' } });

    // Every install fails until the rollout pauses.
    await failUntilPaused(op);
    // Jobs that started before the pause fail too; then every node is either failed or held back.
    const failedNodes = async () =>
      (await bed.c.core.listNode({ labelSelector: 'wasm-node.dev/status=failed' })).items.map(
        (n) => n.metadata!.name!,
      );
    const failed = await waitFor(
      'every node failed or held back',
      async () => {
        await finishActiveJobs(() => false);
        const now = await failedNodes();
        const paused = await metricValue(op.metrics, 'wasm_node_operator_nodes', {
          state: 'paused',
        });
        return now.length + paused === names.length && watcher.active.size === 0 ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(failed.length).toBeGreaterThanOrEqual(2);
    // No Job was ever created for a held-back node.
    expect(watcher.seen.size).toBe(failed.length);
    const pausedEvent = await waitForEventAnywhere(bed.c, 'RolloutPaused');
    expect(pausedEvent.type).toBe('Warning');
    expect(pausedEvent.message).toMatch(/wasm-node.dev\/retry/);
    expect(op.logs.some((l) => l.includes('rollout paused: failure budget spent'))).toBe(true);

    // The operator command: retry the failed nodes. The rollout resumes and completes.
    for (const name of failed) await annotateNode(bed.c, name, { 'wasm-node.dev/retry': 'now' });
    await finishUntilReady(6, 'all 6 nodes ready after the retry', 60_000);
    expect(await metricValue(op.metrics, 'wasm_node_operator_rollout_paused')).toBe(0);
    expect(watcher.maxActive).toBeLessThanOrEqual(2);
  }, 120_000);

  it('a node the installer refuses is unsupported, not failed: it spends none of the failure budget', async () => {
    const op = await bed.startOperator({ rollout: { maxConcurrentInstalls: 1, failureBudget: 1 } });
    await createNode(bed.c, 'talos-0', { annotations: { 'wasm-node': 'true' } });
    const refused = await waitForActiveJob(bed.c, 'talos-0');
    await createNode(bed.c, 'plain-1', { annotations: { 'wasm-node': 'true' } });
    await bed.kubelet.finishWithReport(
      refused,
      installReport([], { ok: false, refused: true, error: 'Talos has an immutable root' }),
    );
    await waitForNode(
      bed.c,
      'talos-0',
      'unsupported',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'unsupported',
    );
    const next = await waitForActiveJob(bed.c, 'plain-1');
    await bed.kubelet.finishWithReport(next, installReport(['wasmtime', 'spin']));
    await waitForNode(
      bed.c,
      'plain-1',
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
    expect(await metricValue(op.metrics, 'wasm_node_operator_rollout_paused')).toBe(0);
    await waitForEventAnywhere(bed.c, 'InstallRefused');
  }, 60_000);

  it('a Job stuck in FailureTarget (its node died mid-restart) counts as failed: the node is failed and its slot goes to the next node', async () => {
    await bed.startOperator({ rollout: { maxConcurrentInstalls: 1 } });
    await createNode(bed.c, 'dead-0', { annotations: { 'wasm-node': 'true' } });
    const stuck = await waitForActiveJob(bed.c, 'dead-0');
    await createNode(bed.c, 'dead-1', { annotations: { 'wasm-node': 'true' } });
    await bed.kubelet.strandInFailureTarget(stuck);
    const failed = await waitForNode(
      bed.c,
      'dead-0',
      'failed',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'failed',
    );
    expect(failed.metadata!.annotations!['wasm-node.dev/message']).toMatch(/DeadlineExceeded/);
    await waitForActiveJob(bed.c, 'dead-1');
  }, 60_000);

  it('a paused rollout resumes when the config changes (new installer image → new desired state)', async () => {
    const rollout = {
      maxConcurrentInstalls: 1,
      failureBudget: 1,
      retryBackoff: { initial: '1h', max: '1h' },
    };
    let op = await bed.startOperator({ installer: { image: 'installer:broken' }, rollout });
    for (let i = 0; i < 3; i++) {
      await createNode(bed.c, `config-${i}`, { annotations: { 'wasm-node': 'true' } });
    }
    await failUntilPaused(op);
    await op.stop();

    // The chart rolls the Deployment when its ConfigMap changes: a new process, a new hash.
    op = await bed.startOperator({ installer: { image: 'installer:fixed' }, rollout });
    await finishUntilReady(3, 'all 3 ready with the fixed installer', 60_000);
    expect(await metricValue(op.metrics, 'wasm_node_operator_rollout_paused')).toBe(0);
  }, 120_000);
});
