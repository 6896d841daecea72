import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { ANNOTATIONS, LABELS, READY, STATUS, steeringLabel } from '../src/operator/keys.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  GREETING,
  NAMESPACE,
  READY_LABEL,
  RUNTIME,
  clearNodeMarkers,
  helloPod,
  installOperator,
  installerJobs,
  isReady,
  runHelloPod,
  setOptIn,
  uninstallOperator,
} from './local-deploy.ts';
import type { NodeProbe } from './node-probe.ts';
import {
  SETUP_MS,
  WORKLOADS,
  expectOneRestartEachInTurn,
  isFinished,
  jobNode,
  metric,
  newJobs,
  onlyNewJob,
  nodeEvent,
  operatorPods,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  terminatedInstaller,
  type Testbed,
} from './scenario.ts';

// The product end to end on the machine cluster: three systemd nodes (Debian 12 with
// containerd 1.6.20, Debian 13 with 1.7.24, Debian 13 with upstream 2.4.2), each with the
// containerd.service and config its distribution or upstream's guide leaves. Helm install,
// opt-in of every node one containerd restart at a time, idempotence, drift repair and opt-out
// on each distribution. The scenarios build on each other; the cluster stays up afterwards.
/** Per node: a Job pod start, a containerd restart through systemd, CRI verification. */
const INSTALL_MS = 180_000;

let t: Testbed;
const scenario = scenarios(() => t);
const linuxContainers = new Map<string, string | undefined>();
const shimPaths = new Map<string, string>();
const labelsOf = (node: V1Node): Record<string, string> => node.metadata?.labels ?? {};
const readNode = (name: string): Promise<V1Node> => t.d.core.readNode({ name });

/** A plain Linux pod on the node: it must live through every containerd restart. */
async function startLinuxPod(node: string): Promise<V1Pod> {
  const name = `linux-${node}`;
  await t.d.core.createNamespacedPod({
    namespace: WORKLOADS,
    body: {
      metadata: { name },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': node },
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'main',
            image: 'localhost/busybox:local',
            imagePullPolicy: 'Never',
            command: ['sleep', '3600'],
          },
        ],
      },
    },
  });
  return waitFor(
    `the Linux pod on ${node} to run`,
    async () => {
      const pod = await t.d.core.readNamespacedPod({ name, namespace: WORKLOADS });
      return pod.status?.containerStatuses?.[0]?.state?.running && pod;
    },
    { timeoutMs: 60_000 },
  );
}

async function expectLinuxPodsUntouched(): Promise<void> {
  for (const [node, container] of linuxContainers) {
    const pod = await t.d.core.readNamespacedPod({ name: `linux-${node}`, namespace: WORKLOADS });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({
      restartCount: 0,
      containerID: container,
    });
  }
}

async function expectInstalled(
  node: NodeProbe,
  pidBefore: number,
  before: string[],
  started: Date,
) {
  const { pod, exitCode, report } = await onlyNewJob(t, before, 'install', node.name);
  expect(pod.spec?.nodeName).toBe(node.name);
  expect(pod.spec?.hostPID).toBe(true);
  expect(pod.spec?.containers[0]?.securityContext?.privileged).toBe(true);
  expect(pod.spec?.containers[0]?.args).not.toContain('--restart-command');
  expect(exitCode).toBe(0);
  expect(report).toMatchObject({ ok: true, changed: true, restarted: true });
  expect(report.runtimes).toEqual([expect.objectContaining({ name: RUNTIME, verified: true })]);
  shimPaths.set(node.name, report.runtimes[0]?.path ?? '');

  // containerd.service runs a new main process, with our block after the untouched file.
  expect(await node.mainPid()).not.toBe(pidBefore);
  const split = splitManagedBlock((await node.config()) ?? '');
  expect(split.base).toBe(t.original.get(node.name));
  expect(split.block).toContain('io.containerd.wasmtime.v1');
  expect((await node.handlers()).get(RUNTIME)).toBe('io.containerd.wasmtime.v1');
  expect(labelsOf(await readNode(node.name))).toMatchObject({
    [READY_LABEL]: READY,
    [LABELS.provisioned]: 'true',
    [LABELS.status]: STATUS.ready,
  });
  expect((await nodeEvent(t, node.name, 'Installed', started)).message).toContain(
    '(containerd restarted)',
  );
}

describe('wasm-node-operator on three systemd nodes', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'installer', 'hello']);
  }, SETUP_MS);

  afterAll(async () => {
    if (t) {
      await uninstallOperator(t.d);
      for (const node of t.cluster.nodes) await clearNodeMarkers(t.d, node.name);
    }
    await tearDownTestbed(t);
  }, 5 * 60_000);

  scenario(
    'provision: every node opted in gets wasmtime through a privileged Job, one containerd restart at a time, labels only after verification',
    async (started) => {
      await installOperator(t.d, { maxConcurrentInstalls: 1 });
      for (const node of t.nodes) {
        const pod = await startLinuxPod(node.name);
        linuxContainers.set(node.name, pod.status?.containerStatuses?.[0]?.containerID);
        expect(labelsOf(await readNode(node.name))[READY_LABEL]).toBeUndefined();
      }
      const pids = new Map(
        await Promise.all(t.nodes.map(async (n) => [n.name, await n.mainPid()] as const)),
      );
      const before = t.jobs.names();

      // Every poll reads the nodes, then the Jobs: a Job still running in the later read was
      // running when its node was read too, so a ready label in that node came too early. The
      // Jobs are listed (a consistent read), not taken from the recording watch, which may lag
      // behind the node read under load and show a Job as running that already completed.
      const early: string[] = [];
      let mostRunning = 0;
      let failed: string | undefined;
      for (const node of t.nodes) await setOptIn(t.d, node.name, true);
      await waitFor(
        'every node to be labelled ready',
        async () => {
          const nodes = await Promise.all(t.nodes.map((n) => readNode(n.name)));
          const running = (await installerJobs(t.d)).filter((j) => !isFinished(j));
          mostRunning = Math.max(mostRunning, running.length);
          for (const n of nodes)
            if (
              labelsOf(n)[READY_LABEL] === READY &&
              running.some((j) => jobNode(j) === n.metadata?.name)
            )
              early.push(n.metadata?.name ?? '');
          const bad = nodes.find((n) => labelsOf(n)[LABELS.status] === STATUS.failed);
          if (bad) failed = `the operator marked ${bad.metadata?.name} failed`;
          return nodes.every(isReady);
        },
        { timeoutMs: t.nodes.length * INSTALL_MS, intervalMs: 250, abortIf: () => failed },
      );
      expect(early).toEqual([]);
      expect(mostRunning).toBe(1);
      for (const node of t.nodes)
        await expectInstalled(node, pids.get(node.name) ?? 0, before, started);
      await expectOneRestartEachInTurn(t.nodes, started);

      const runtimeClass = await t.d.nodeApi.readRuntimeClass({ name: RUNTIME });
      expect(runtimeClass).toMatchObject({
        handler: RUNTIME,
        // The label a kubelet cannot set itself (NodeRestriction); READY_LABEL is for people.
        scheduling: { nodeSelector: { [steeringLabel(RUNTIME)]: READY } },
      });
      for (const node of t.nodes) {
        const hello = await runHelloPod(t.d, {
          namespace: WORKLOADS,
          name: `hello-${node.name}`,
          node: node.name,
          timeoutMs: 120_000,
        });
        expect(hello.logs).toContain(GREETING);
        expect(hello.pod.status?.phase).toBe('Succeeded');
        expect(hello.pod.spec?.nodeName).toBe(node.name);
      }
      await expectLinuxPodsUntouched();
    },
    20 * 60_000,
  );

  scenario(
    'idempotence: a fresh operator process reconciles every ready node and starts no Job',
    async () => {
      const before = t.jobs.names();
      const verifiedAt = await Promise.all(
        t.nodes.map(
          async (n) => (await readNode(n.name)).metadata?.annotations?.[ANNOTATIONS.verifiedAt],
        ),
      );
      expect(verifiedAt.every((v) => v !== undefined)).toBe(true);
      const [old] = await operatorPods(t);
      await t.d.core.deleteNamespacedPod({ name: old?.metadata?.name ?? '', namespace: NAMESPACE });
      // A fresh process lists every node and reconciles each once; the gauge is set by the
      // reconcile itself, so all three counted ready means all three were decided.
      const nodeReconciles = () =>
        metric(t, 'wasm_node_operator_reconcile_total', 'kind="node",result="ok"');
      await waitFor(
        'a new operator process to have reconciled every node as ready',
        async () =>
          (await operatorPods(t)).every((p) => p.metadata?.name !== old?.metadata?.name) &&
          (await metric(t, 'wasm_node_operator_nodes', 'state="ready"')) === t.nodes.length &&
          ((await nodeReconciles()) ?? 0) >= t.nodes.length,
        { timeoutMs: 180_000 },
      );
      expect(
        (await metric(t, 'wasm_node_operator_jobs_started_total', 'operation="install"')) ?? 0,
      ).toBe(0);
      expect(t.jobs.names()).toEqual(before);
      const after = await Promise.all(
        t.nodes.map(
          async (n) => (await readNode(n.name)).metadata?.annotations?.[ANNOTATIONS.verifiedAt],
        ),
      );
      expect(after).toEqual(verifiedAt);
    },
  );

  scenario(
    'drift: a config regenerated without the block, containerd restarted by systemd, is repaired by the drift check',
    async () => {
      const node = t.nodes.at(-1) as NodeProbe;
      const before = t.jobs.names();
      await node.machine.sh(`cat > /etc/containerd/config.toml && systemctl restart containerd`, {
        input: t.original.get(node.name) ?? '',
      });
      expect((await node.handlers()).has(RUNTIME)).toBe(false);

      await installOperator(t.d, { maxConcurrentInstalls: 1, reverifyInterval: '20s' });
      await waitFor(
        `the drift check to restore the wasmtime handler on ${node.name}`,
        async () =>
          splitManagedBlock((await node.config()) ?? '').block !== undefined &&
          (await node.handlers()).get(RUNTIME) === 'io.containerd.wasmtime.v1' &&
          isReady(await readNode(node.name)),
        { timeoutMs: INSTALL_MS },
      );
      const reports = await Promise.all(
        newJobs(t, before, 'install', node.name).map(
          async (j) => (await terminatedInstaller(t, j)).report,
        ),
      );
      expect(reports).toContainEqual(
        expect.objectContaining({ ok: true, changed: true, restarted: true }),
      );
      expect(splitManagedBlock((await node.config()) ?? '').base).toBe(t.original.get(node.name));
      await installOperator(t.d, { maxConcurrentInstalls: 1 });
    },
  );

  scenario(
    'opt-out on each distribution: config back byte for byte, shims gone, containerd restarted by systemd, labels gone',
    async (started) => {
      const before = t.jobs.names();
      const pids = new Map(
        await Promise.all(t.nodes.map(async (n) => [n.name, await n.mainPid()] as const)),
      );
      for (const node of t.nodes) await setOptIn(t.d, node.name, false);
      await waitFor(
        'the operator to remove every label and annotation it set',
        async () =>
          (await Promise.all(t.nodes.map((n) => readNode(n.name)))).every(
            (n) =>
              ![...Object.keys(labelsOf(n)), ...Object.keys(n.metadata?.annotations ?? {})].some(
                (k) => k.includes('wasm-node.dev'),
              ),
          ),
        { timeoutMs: t.nodes.length * INSTALL_MS },
      );
      for (const node of t.nodes) {
        const [job] = newJobs(t, before, 'uninstall', node.name);
        if (!job)
          throw new Error(`no uninstall Job for ${node.name} (seen: ${t.jobs.names().join(', ')})`);
        const { exitCode, report } = await terminatedInstaller(t, job);
        expect(exitCode).toBe(0);
        expect(report).toMatchObject({
          ok: true,
          operation: 'uninstall',
          changed: true,
          restarted: true,
        });
        expect(await node.config()).toBe(t.original.get(node.name));
        expect(await node.mainPid()).not.toBe(pids.get(node.name));
        expect((await node.handlers()).has(RUNTIME)).toBe(false);
        const shim = shimPaths.get(node.name) ?? '';
        expect(shim).not.toBe('');
        expect((await node.machine.exec(['test', '-e', shim])).code).not.toBe(0);
        expect(await node.machine.sh('ls /usr/local/sbin /usr/local/bin')).not.toMatch(/wasmtime/);
        expect((await nodeEvent(t, node.name, 'Uninstalled', started)).type).toBe('Normal');
      }
      await expectOneRestartEachInTurn(t.nodes, started);

      // The RuntimeClass stays (it is configured), but no node matches its selector any more.
      await t.d.core.createNamespacedPod({
        namespace: WORKLOADS,
        body: helloPod('hello-unschedulable'),
      });
      const pending = await waitFor(
        'the Wasm pod to be reported unschedulable',
        async () => {
          const p = await t.d.core.readNamespacedPod({
            name: 'hello-unschedulable',
            namespace: WORKLOADS,
          });
          const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
          return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && p;
        },
        { timeoutMs: 60_000 },
      );
      expect(pending.spec?.nodeName).toBeUndefined();
      await expectLinuxPodsUntouched();
    },
  );
});
