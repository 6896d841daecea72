import { describe, expect, it } from '@jest/globals';
import { waitFor } from '../support/wait.ts';
import {
  annotateNode,
  createNode,
  jobs,
  jobsForNode,
  nodeEvents,
  readNode,
  waitForActiveJob,
  waitForEvent,
  waitForNode,
} from './support/test-cluster.ts';
import { FakeKubelet, installReport } from './support/fake-kubelet.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';

const bed = useOperatorTestbed();

const READY = (rt: string) => `runtime.wasm-node.dev/${rt}`;

describe('install (the test acts as kubelet and Job controller through the status subresources)', () => {
  it('annotated node → installer Job → verified labels, provisioned, hash annotation, Normal event; RuntimeClasses select the steering ready label', async () => {
    await bed.startOperator();
    await createNode(bed.c, 'node-a', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(bed.c, 'node-a');
    const pod = job.spec!.template.spec!;
    expect(job.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(pod.nodeName).toBe('node-a');
    expect(pod.hostPID).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.containers[0]!.args).toEqual([
      'install',
      '--runtimes',
      'wasmtime,spin',
      '--host-root',
      '/host',
    ]);
    expect(job.metadata!.ownerReferences![0]).toMatchObject({ kind: 'Node', name: 'node-a' });
    expect((await readNode(bed.c, 'node-a')).metadata!.labels).toMatchObject({
      'wasm-node.dev/status': 'installing',
    });
    // Nothing is labelled ready before the installer has verified it.
    expect((await readNode(bed.c, 'node-a')).metadata!.labels).not.toHaveProperty([READY('spin')]);

    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    const node = await waitForNode(
      bed.c,
      'node-a',
      'ready labels',
      (n) => n.metadata?.labels?.[READY('spin')] === 'ready',
    );
    expect(node.metadata!.labels).toMatchObject({
      [READY('wasmtime')]: 'ready',
      'wasm-node.dev/provisioned': 'true',
      'wasm-node.dev/status': 'ready',
    });
    expect(node.metadata!.annotations!['wasm-node.dev/installed-hash']).toMatch(/^[0-9a-f]{16}$/);
    expect((await waitForEvent(bed.c, 'node-a', 'Installed')).type).toBe('Normal');
    // The recorded Job is cleaned up.
    await waitFor(
      'the finished job to be deleted',
      async () => jobsForNode(await jobs(bed.c), 'node-a').length === 0,
      { timeoutMs: 20_000 },
    );

    const rcs = await waitFor(
      'RuntimeClasses',
      async () => {
        const list = (await bed.c.nodeApi.listRuntimeClass()).items;
        return list.length === 2 ? list : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const spin = rcs.find((r) => r.metadata?.name === 'spin')!;
    expect(spin.handler).toBe('spin');
    expect(spin.scheduling?.nodeSelector).toEqual({
      'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': 'ready',
    });
    expect(
      spin.metadata?.managedFields?.some(
        (f) => f.manager === 'wasm-node-operator' && f.operation === 'Apply',
      ),
    ).toBe(true);
  }, 60_000);

  it('with watch.nodeMetadataOnly off (whole Node objects listed and watched) a node installs the same way', async () => {
    await bed.startOperator({ watch: { nodeMetadataOnly: false } });
    await createNode(bed.c, 'node-meta', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(bed.c, 'node-meta');
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    await waitForNode(
      bed.c,
      'node-meta',
      'ready',
      (n) => n.metadata?.labels?.[READY('spin')] === 'ready',
    );
  }, 60_000);

  it('a runtime the installer could not verify gets no ready label and a Warning', async () => {
    await bed.startOperator();
    await createNode(bed.c, 'node-partial', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(bed.c, 'node-partial');
    await bed.kubelet.finishWithReport(
      job,
      installReport(['wasmtime', 'spin'], { unverified: ['spin'] }),
    );
    const node = await waitForNode(
      bed.c,
      'node-partial',
      'wasmtime ready',
      (n) => n.metadata?.labels?.[READY('wasmtime')] === 'ready',
    );
    expect(node.metadata!.labels).not.toHaveProperty([READY('spin')]);
    expect((await waitForEvent(bed.c, 'node-partial', 'RuntimeNotVerified')).message).toMatch(
      /spin/,
    );
  }, 60_000);

  it('a failed installer → Warning event with its error, failed status visible in describe, retry with backoff under a new Job name', async () => {
    // A 3 s backoff keeps the failed state observable for the polling assertions below.
    await bed.startOperator({ rollout: { retryBackoff: { initial: '3s', max: '3s' } } });
    await createNode(bed.c, 'node-fail', { annotations: { 'wasm-node': 'true' } });
    const first = await waitForActiveJob(bed.c, 'node-fail');
    await bed.kubelet.finishWithReport(
      first,
      installReport(['wasmtime', 'spin'], { ok: false, error: 'containerd did not restart' }),
    );
    const event = await waitForEvent(bed.c, 'node-fail', 'InstallFailed');
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/containerd did not restart/);
    const node = await waitForNode(
      bed.c,
      'node-fail',
      'failed status',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'failed',
    );
    expect(node.metadata!.annotations!['wasm-node.dev/message']).toMatch(
      /install failed \(attempt 1.*containerd did not restart/,
    );
    expect(node.metadata!.labels).not.toHaveProperty(['wasm-node.dev/provisioned']);

    const retry = await waitFor(
      'a retry job',
      async () =>
        jobsForNode(await jobs(bed.c), 'node-fail').find(
          (j) => j.metadata!.name !== first.metadata!.name,
        ),
      { timeoutMs: 20_000 },
    );
    expect(retry.metadata!.annotations!['wasm-node.dev/attempt']).toBe('1');
    await bed.kubelet.finishWithReport(retry, installReport(['wasmtime', 'spin']));
    const healed = await waitForNode(
      bed.c,
      'node-fail',
      'ready after retry',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
    expect(healed.metadata!.annotations).not.toHaveProperty(['wasm-node.dev/failure']);
  }, 60_000);

  it('bad annotation values and unknown runtime names → Warning events explaining accepted values, no Job', async () => {
    await bed.startOperator();
    await createNode(bed.c, 'node-yes', { annotations: { 'wasm-node': 'yes' } });
    await createNode(bed.c, 'node-typo', {
      annotations: { 'wasm-node': 'true', 'wasm-node.dev/runtimes': 'wasmtime,spinn' },
    });
    const yes = await waitForEvent(bed.c, 'node-yes', 'InvalidOptInValue');
    expect(yes.type).toBe('Warning');
    expect(yes.message).toMatch(/accepted values are "true".*"false"/);
    const typo = await waitForEvent(bed.c, 'node-typo', 'UnknownRuntime');
    expect(typo.message).toMatch(/spinn.*wasmtime, spin/);
    expect(jobsForNode(await jobs(bed.c), 'node-yes')).toEqual([]);
    expect(jobsForNode(await jobs(bed.c), 'node-typo')).toEqual([]);
    // Fixing the value starts the install, narrowed to the runtimes asked for.
    await annotateNode(bed.c, 'node-typo', { 'wasm-node.dev/runtimes': 'wasmtime' });
    const job = await waitForActiveJob(bed.c, 'node-typo');
    expect(job.spec!.template.spec!.containers[0]!.args!.slice(0, 3)).toEqual([
      'install',
      '--runtimes',
      'wasmtime',
    ]);
    expect(
      (await nodeEvents(bed.c, 'node-yes')).filter((e) => e.reason === 'InvalidOptInValue'),
    ).toHaveLength(1);
  }, 60_000);

  it("reads the report of a Job whose pod carries only a Kubernetes 1.25 Job controller's labels (controller-uid, job-name)", async () => {
    // Job controllers before 1.27 did not set the batch.kubernetes.io/ labels: the operator
    // finds a Job's pods by a label of its own, so it depends on no Job controller's labels.
    const kubelet125 = new FakeKubelet(bed.c, { actAsJobController: true, jobController: '1.25' });
    await bed.startOperator();
    await createNode(bed.c, 'node-125', { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(bed.c, 'node-125');
    await kubelet125.finishWithReport(job, installReport(['wasmtime', 'spin']));
    const node = await waitForNode(bed.c, 'node-125', 'installed or failed', (n) =>
      ['ready', 'failed'].includes(n.metadata?.labels?.['wasm-node.dev/status'] ?? ''),
    );
    expect(node.metadata!.annotations!['wasm-node.dev/message']).toMatch(/^verified: wasmtime/);
  }, 60_000);

  it('a 253-character node name gets a ≤63-char Job name and its labels', async () => {
    await bed.startOperator();
    const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(name).toHaveLength(253);
    await createNode(bed.c, name, { annotations: { 'wasm-node': 'true' } });
    const job = await waitForActiveJob(bed.c, name);
    expect(job.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(job.metadata!.annotations!['wasm-node.dev/node']).toBe(name);
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    await waitForNode(
      bed.c,
      name,
      'ready',
      (n) => n.metadata?.labels?.['wasm-node.dev/status'] === 'ready',
    );
    expect((await waitForEvent(bed.c, name, 'Installed')).involvedObject.name).toBe(name);
  }, 60_000);
});
