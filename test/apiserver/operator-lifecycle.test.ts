import type { V1RuntimeClass } from '@kubernetes/client-node';
import { describe, expect, it } from '@jest/globals';
import type { ConfigInput } from '../../src/operator/config.ts';
import { waitFor } from '../support/wait.ts';
import {
  annotateNode,
  createNode,
  jobs,
  jobsForNode,
  NAMESPACE,
  readNode,
  waitForActiveJob,
  waitForEvent,
  waitForNode,
} from './support/test-cluster.ts';
import { installReport } from './support/fake-kubelet.ts';
import { type RunningOperator } from './support/operator-harness.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';

const bed = useOperatorTestbed();
let op: RunningOperator | undefined;

const READY = (rt: string) => `runtime.wasm-node.dev/${rt}`;

/** Opts a node in and finishes its install Job (the test acting as kubelet), returns when ready. */
async function installNode(name: string, runtimes = ['wasmtime', 'spin']) {
  await createNode(bed.c, name, { annotations: { 'wasm-node': 'true' } });
  const job = await waitForActiveJob(bed.c, name);
  await bed.kubelet.finishWithReport(job, installReport(runtimes));
  return waitForNode(
    bed.c,
    name,
    'ready',
    (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
  );
}

async function restartOperator(overrides: ConfigInput) {
  await op?.stop();
  op = await bed.startOperator(overrides);
}

async function runtimeClassNames(): Promise<string[]> {
  return (await bed.c.nodeApi.listRuntimeClass()).items.map((r) => r.metadata!.name!).sort();
}

describe('lifecycle (the test acts as kubelet and Job controller through the status subresources)', () => {
  it('opt-out runs the uninstall Job, warns about Wasm pods still running (leaving them), then removes our labels and annotations', async () => {
    op = await bed.startOperator({ uninstall: { warnAboutWasmPods: true } });
    await installNode('node-out');
    await bed.c.core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'wasm-app' },
        spec: {
          nodeName: 'node-out',
          runtimeClassName: 'spin',
          containers: [{ name: 'app', image: 'app:1' }],
        },
      },
    });
    await annotateNode(bed.c, 'node-out', { 'wasm-node': 'false' });
    const job = await waitForActiveJob(bed.c, 'node-out');
    expect(job.spec!.template.spec!.containers[0]!.args!.slice(0, 3)).toEqual([
      'uninstall',
      '--runtimes',
      'wasmtime,spin',
    ]);
    // Ready labels go as soon as the uninstall starts: no new Wasm pods land here.
    const leaving = await readNode(bed.c, 'node-out');
    expect(leaving.metadata!.labels).not.toHaveProperty([READY('spin')]);
    expect(leaving.metadata!.labels!['wasm-node.dev/status']).toBe('uninstalling');
    const warning = await waitForEvent(bed.c, 'node-out', 'WasmPodsStillRunning');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/wasm-system\/wasm-app/);

    await bed.kubelet.finishWithReport(
      job,
      installReport(['wasmtime', 'spin'], { operation: 'uninstall' }),
    );
    const clean = await waitForNode(
      bed.c,
      'node-out',
      'markers removed',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === undefined,
    );
    expect(
      Object.keys(clean.metadata!.labels ?? {}).filter((k) => k.includes('wasm-node.dev')),
    ).toEqual([]);
    expect(Object.keys(clean.metadata!.annotations ?? {}).sort()).toEqual(['wasm-node']);
    await waitForEvent(bed.c, 'node-out', 'Uninstalled');
    expect(
      (await bed.c.core.readNamespacedPod({ namespace: NAMESPACE, name: 'wasm-app' })).metadata
        ?.deletionTimestamp,
    ).toBeUndefined();
    await waitFor(
      'the uninstall job to be deleted',
      async () => jobsForNode(await jobs(bed.c), 'node-out').length === 0,
      { timeoutMs: 20_000 },
    );
  }, 60_000);

  it("does not take over a RuntimeClass someone else made (KWasm's wasmtime): it leaves it alone and says so in an Event", async () => {
    const theirs: V1RuntimeClass = {
      metadata: { name: 'wasmtime', labels: { 'app.kubernetes.io/managed-by': 'kwasm' } },
      handler: 'wasmtime',
      scheduling: { nodeSelector: { 'kwasm.sh/kwasm-provisioned': 'true' } },
    };
    await bed.c.nodeApi.createRuntimeClass({ body: theirs });
    try {
      await expectLeftAlone(theirs);
    } finally {
      await bed.c.nodeApi.deleteRuntimeClass({ name: 'wasmtime' });
    }
  }, 60_000);

  async function expectLeftAlone(theirs: V1RuntimeClass): Promise<void> {
    op = await bed.startOperator({ installer: { image: 'installer:foreign' } });
    await waitFor(
      'the spin RuntimeClass',
      async () => (await runtimeClassNames()).includes('spin'),
      {
        timeoutMs: 20_000,
      },
    );
    const conflict = await waitFor(
      'a RuntimeClassConflict event',
      async () =>
        (
          await bed.c.core.listNamespacedEvent({
            namespace: 'default',
            fieldSelector: 'involvedObject.kind=RuntimeClass,reason=RuntimeClassConflict',
          })
        ).items[0],
      { timeoutMs: 20_000 },
    );
    expect(conflict.type).toBe('Warning');
    expect(conflict.message).toMatch(/adoptExisting/);
    const after = await bed.c.nodeApi.readRuntimeClass({ name: 'wasmtime' });
    expect(after.scheduling?.nodeSelector).toEqual(theirs.scheduling?.nodeSelector);
    expect(after.metadata?.labels).toEqual(theirs.metadata?.labels);
    expect(after.metadata?.managedFields?.map((f) => f.manager)).not.toContain(
      'wasm-node-operator',
    );
  }

  it('a new installer image changes the desired hash and re-installs ready nodes', async () => {
    op = await bed.startOperator({ installer: { image: 'installer:v1' } });
    const before = await installNode('node-up');
    await restartOperator({ installer: { image: 'installer:v2' } });
    const job = await waitForActiveJob(bed.c, 'node-up');
    expect(job.spec!.template.spec!.containers[0]!.image).toBe('installer:v2');
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    const after = await waitForNode(
      bed.c,
      'node-up',
      'new hash',
      (n) =>
        n.metadata?.annotations?.['wasm-node.dev/installed-hash'] !==
          before.metadata!.annotations!['wasm-node.dev/installed-hash'] &&
        n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
    expect(after.metadata!.labels![READY('spin')]).toBe('ready');
  }, 60_000);

  it('a runtime dropped from the config keeps its RuntimeClass until no node has it any more', async () => {
    op = await bed.startOperator({ installer: { image: 'installer:rc' } });
    await installNode('node-rc');
    await waitFor(
      'both RuntimeClasses',
      async () => (await runtimeClassNames()).join() === 'spin,wasmtime',
      { timeoutMs: 20_000 },
    );
    await restartOperator({ installer: { image: 'installer:rc' }, runtimes: ['wasmtime'] });
    const job = await waitForActiveJob(bed.c, 'node-rc');
    // Still labelled for spin while the re-install runs: the RuntimeClass stays.
    expect(await runtimeClassNames()).toEqual(['spin', 'wasmtime']);
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime']));
    await waitForNode(
      bed.c,
      'node-rc',
      'spin label gone',
      (n) =>
        n.metadata?.labels?.[READY('spin')] === undefined &&
        n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
    await waitFor(
      'the spin RuntimeClass to go',
      async () => (await runtimeClassNames()).join() === 'wasmtime',
      { timeoutMs: 20_000 },
    );
  }, 60_000);

  it('re-verification re-runs the idempotent installer on a ready node after reverifyInterval (drift repair hook)', async () => {
    op = await bed.startOperator({
      installer: { image: 'installer:rv' },
      rollout: { reverifyInterval: '2s' },
    });
    const ready = await installNode('node-rv');
    const job = await waitForActiveJob(bed.c, 'node-rv', 20_000);
    // Still ready and labelled while it re-verifies.
    expect((await readNode(bed.c, 'node-rv')).metadata!.labels![READY('spin')]).toBe('ready');
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    await waitForNode(
      bed.c,
      'node-rv',
      'verified again',
      (n) =>
        n.metadata?.annotations?.['wasm-node.dev/verified-at'] !==
          ready.metadata!.annotations!['wasm-node.dev/verified-at'] &&
        n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
  }, 60_000);
});
