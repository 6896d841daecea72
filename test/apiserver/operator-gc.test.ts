import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '../support/wait.ts';
import {
  createNode,
  jobs,
  jobsForNode,
  startCluster,
  waitForActiveJob,
  waitForEvent,
  waitForNode,
  type TestCluster,
} from './support/test-cluster.ts';
import { FakeKubelet, installReport } from './support/fake-kubelet.ts';
import { metricValue, startOperator, type RunningOperator } from './support/operator-harness.ts';

let c: TestCluster;
let op: RunningOperator;

beforeAll(async () => {
  c = await startCluster({ controllerManager: true });
  op = await startOperator(c);
}, 90_000);
afterAll(async () => {
  await op.stop();
  await c.stop();
});

describe('with kube-controller-manager (real Job controller and garbage collector; the test acts only as kubelet through pods/status)', () => {
  it('the Job controller runs the installer pod; the test finishes the pod; the operator reads its termination message', async () => {
    const kubelet = new FakeKubelet(c, { actAsJobController: false });
    await createNode(c, 'kcm-a', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(c, 'kcm-a');
    await kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    const node = await waitForNode(
      c,
      'kcm-a',
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
      60_000,
    );
    expect(node.metadata!.labels!['runtime.wasm-node.dev/wasmtime']).toBe('ready');
    await waitForEvent(c, 'kcm-a', 'Installed');
    expect(
      await metricValue(op.metrics, 'wasm_node_operator_job_duration_seconds_count', {
        operation: 'install',
        result: 'succeeded',
      }),
    ).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('deleting a node garbage-collects its installer Job through the ownerReference; nothing else breaks', async () => {
    await createNode(c, 'kcm-gone', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(c, 'kcm-gone');
    expect(job.metadata!.ownerReferences![0]).toMatchObject({
      apiVersion: 'v1',
      kind: 'Node',
      name: 'kcm-gone',
    });
    await c.core.deleteNode({ name: 'kcm-gone' });
    await waitFor(
      'the garbage collector to delete the Job',
      async () => jobsForNode(await jobs(c), 'kcm-gone').length === 0,
      { timeoutMs: 60_000 },
    );

    // The operator keeps going: another node still installs.
    const kubelet = new FakeKubelet(c, { actAsJobController: false });
    await createNode(c, 'kcm-after', { annotations: { 'wasm-node': 'true' } });
    const next = await waitForActiveJob(c, 'kcm-after');
    await kubelet.finishWithReport(next, installReport(['wasmtime', 'spin']));
    await waitForNode(
      c,
      'kcm-after',
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
      60_000,
    );
    // The deleted node is gone from the nodes-by-state gauge.
    await waitFor(
      'no node counted as installing',
      async () =>
        (await metricValue(op.metrics, 'wasm_node_operator_nodes', { state: 'installing' })) === 0,
      { timeoutMs: 10_000 },
    );
  }, 120_000);
});
