import { describe, expect, it } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { ObjectRecorder } from '../support/object-recorder.ts';
import { waitFor } from '../support/wait.ts';
import { installReport } from './support/fake-kubelet.ts';
import { metricValue } from './support/operator-harness.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';
import {
  createNode,
  isFinished,
  jobs,
  readNode,
  waitForActiveJob,
  waitForNode,
} from './support/test-cluster.ts';

const bed = useOperatorTestbed();
const OPT_IN = { annotations: { 'wasm-node': 'true' } };
const READY_LABELS = [
  'runtime.wasm-node.dev/wasmtime',
  'runtime.wasm-node.dev/spin',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/wasmtime',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin',
  'wasm-node.dev/provisioned',
];
const LABELLED = READY_LABELS.join(' ');
/** The node's status and the ready labels it carries, in one line. */
function labelState(n: V1Node): string {
  const labels = n.metadata?.labels ?? {};
  const carried = READY_LABELS.filter((k) => labels[k] !== undefined);
  return `${labels['wasm-node.dev/status']}, ${carried.join(' ') || 'no ready label'}`;
}
const status = (name: string) => async () =>
  (await readNode(bed.c, name)).metadata?.labels?.['wasm-node.dev/status'];

async function install(name: string, bootId: string): Promise<void> {
  const job = await waitForActiveJob(bed.c, name);
  await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin'], { bootId }));
  await waitForNode(
    bed.c,
    name,
    'ready',
    (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
  );
}

describe('what the operator reads of Node status: boot id and Ready (the test acts as kubelet)', () => {
  it('a node that rebooted (new status.nodeInfo.bootID) loses its ready labels in the write that marks it reverifying, is re-verified at once, also while the rollout is paused, and is re-labelled after the report', async () => {
    const op = await bed.startOperator({
      rollout: {
        maxConcurrentInstalls: 1,
        failureBudget: 1,
        retryBackoff: { initial: '1h', max: '1h' },
      },
    });
    await createNode(bed.c, 'boot-0', OPT_IN);
    await bed.kubelet.postNodeStatus('boot-0', { ready: true, bootID: 'boot-a' });
    await install('boot-0', 'boot-a');
    expect((await readNode(bed.c, 'boot-0')).metadata?.annotations?.['wasm-node.dev/boot-id']).toBe(
      'boot-a',
    );

    // Another node fails: the budget is spent, no install starts any more.
    await createNode(bed.c, 'fail-0', OPT_IN);
    const failing = await waitForActiveJob(bed.c, 'fail-0');
    await bed.kubelet.finishWithReport(
      failing,
      installReport(['wasmtime', 'spin'], { ok: false, error: 'disk full' }),
    );
    await waitFor(
      'the rollout to pause',
      async () => (await metricValue(op.metrics, 'wasm_node_operator_rollout_paused')) === 1,
      { timeoutMs: 20_000 },
    );

    // Every state boot-0's labels go through, in etcd's order, from a watch.
    const states: string[] = [];
    const recorder = await ObjectRecorder.start<V1Node>(bed.c.kc, '/api/v1/nodes', '', (_, n) => {
      if (n.metadata?.name !== 'boot-0') return;
      const state = labelState(n);
      if (states.at(-1) !== state) states.push(state);
    });
    try {
      // boot-0 reboots: its kubelet posts a new boot id.
      await bed.kubelet.postNodeStatus('boot-0', { ready: true, bootID: 'boot-b' });
      const reverify = await waitForActiveJob(bed.c, 'boot-0');
      // Nothing gives the labels back before the Job reports: this read is not a race.
      const during = await readNode(bed.c, 'boot-0');
      expect(labelState(during)).toBe('installing, no ready label');
      expect(during.metadata?.annotations?.['wasm-node.dev/message']).toMatch(
        /rebooted since its verification/,
      );
      await bed.kubelet.finishWithReport(
        reverify,
        installReport(['wasmtime', 'spin'], { bootId: 'boot-b' }),
      );
      await waitForNode(
        bed.c,
        'boot-0',
        'the new boot recorded',
        (n) => n.metadata?.annotations?.['wasm-node.dev/boot-id'] === 'boot-b',
      );
      await waitFor(
        'the watch to deliver the re-labelling',
        async () => states.length > 1 && states.at(-1) === `ready, ${LABELLED}`,
        { timeoutMs: 20_000 },
      );
      // Withdrawn in the write that says reverifying, before the Job started; back on success.
      expect(states).toEqual([
        `ready, ${LABELLED}`,
        'reverifying, no ready label',
        'installing, no ready label',
        `ready, ${LABELLED}`,
      ]);
    } finally {
      recorder.stop();
    }
  }, 90_000);

  it('control-plane nodes install one at a time, and none while another one is not Ready, also one that went down in its own restart', async () => {
    const activity = await bed.watchJobs();
    const cp = ['cp-0', 'cp-1', 'cp-2'];
    for (const name of cp) {
      await createNode(bed.c, name, {
        ...OPT_IN,
        labels: { 'node-role.kubernetes.io/control-plane': '' },
      });
      // cp-0 is down (its kubelet says NotReady): no other control-plane node may restart.
      await bed.kubelet.postNodeStatus(name, { ready: name !== 'cp-0', bootID: `${name}-boot` });
    }
    await bed.startOperator({ rollout: { maxConcurrentInstalls: 3 } });
    // cp-0 itself may go: it waits for no one but the others.
    const first = await waitForActiveJob(bed.c, 'cp-0');
    await bed.kubelet.finishWithReport(first, installReport(['wasmtime', 'spin']));
    await waitFor('cp-0 recorded', async () => (await status('cp-0')()) === 'ready', {
      timeoutMs: 20_000,
    });
    let after = BigInt(
      await bed.kubelet.postNodeStatus('cp-0', { ready: true, bootID: 'cp-0-boot' }),
    );
    for (let i = 1; i < cp.length; i++) {
      // Listed and also delivered by the recording watch (which may lag the list under load).
      const job = await waitFor(
        'the next control-plane Job',
        async () =>
          (await jobs(bed.c)).find(
            (j) => !isFinished(j) && activity.createdAt.has(j.metadata!.name!),
          ),
        { timeoutMs: 20_000 },
      );
      // Created only after the previous node was Ready again and its Job finished (etcd
      // orders every write: a resourceVersion is a position in that order).
      expect(activity.createdAt.get(job.metadata!.name!)! > after).toBe(true);
      // Its restart takes the node down (kubelet reports NotReady) and its Job finishes before
      // the kubelet says Ready again: the next one waits for that Ready.
      const name = job.spec!.template.spec!.nodeName!;
      await bed.kubelet.postNodeStatus(name, { ready: false, bootID: `${name}-boot` });
      await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
      await waitFor(`${name} recorded`, async () => (await status(name)()) === 'ready', {
        timeoutMs: 20_000,
      });
      after = BigInt(
        await bed.kubelet.postNodeStatus(name, { ready: true, bootID: `${name}-boot` }),
      );
    }
    expect(activity.maxActive).toBe(1);
    expect(activity.seen.size).toBe(3);
  }, 120_000);
});
