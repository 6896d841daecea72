import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CoreV1Event, V1Job, V1Node, V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { criStatus, registeredHandlers } from '../src/cri/runtime-status.ts';
import { parseInstallReport, type InstallReport } from '../src/formats/install-report.ts';
import { ANNOTATIONS, LABELS, READY, STATUS, steeringLabel } from '../src/operator/keys.ts';
import { ensureCluster, type ClusterInfo } from '../test/support/cluster.ts';
import { run } from '../test/support/run-command.ts';
import { dumpDiagnostics } from '../test/support/diagnostics.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import { ObjectRecorder } from '../test/support/object-recorder.ts';
import { repoPath } from '../test/support/repo.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  GREETING,
  NAMESPACE,
  OPERATOR_PORT,
  READY_LABEL,
  RELEASE,
  RUNTIME,
  buildImages,
  clearNodeMarkers,
  connect,
  helloPod,
  installOperator,
  isReady,
  patchNodeMetadata,
  runHelloPod,
  setOptIn,
  uninstallOperator,
  waitForNodeReady,
  type LocalDeploy,
} from './local-deploy.ts';

// The product end to end on the local cluster (real kubelet, supervised containerd 1.6): Helm
// install, opt-in, the privileged installer Job, the drift check, opt-out and a failed install.
// The scenarios share the cluster and the node, and each starts from where the previous one
// left it, so they run in order and a failure stops the rest. The cluster stays up afterwards
// (npm run cluster:down); the operator and everything it did to the node are removed.

/** Where the Wasm and Linux workload pods run. */
const WORKLOADS = 'wasm-e2e';
const OPERATOR_SELECTOR = `app.kubernetes.io/name=${RELEASE},app.kubernetes.io/instance=${RELEASE}`;
const INSTALLER_SELECTOR = `${LABELS.component}=installer`;
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const SCENARIO_MS = 6 * 60_000;
/** A Job pod start, a containerd restart and CRI verification, on a busy 2-core machine. */
const INSTALL_MS = 180_000;
const SETUP_MS = 60 * 60_000;

let cluster: ClusterInfo;
let d: LocalDeploy;
let original: Buffer;
let jobs: ObjectRecorder<V1Job>;
let pods: ObjectRecorder<V1Pod>;
let brokenBy: string | undefined;

const containerdPid = (): number =>
  Number(readFileSync(path.join(cluster.workDir, 'run/containerd.pid'), 'utf8'));
const containerdConfig = (): Buffer => readFileSync(cluster.containerdConfig);
// A containerd that has just restarted serves its socket before its CRI plugin is initialised.
const handlers = (): Promise<Map<string, string>> =>
  waitFor(
    "containerd's CRI to answer",
    async () => registeredHandlers(await criStatus(cluster.containerdSocket, 10_000)),
    { timeoutMs: 60_000 },
  );
const readNode = (): Promise<V1Node> => d.core.readNode({ name: cluster.nodeName });
const labelsOf = (node: V1Node): Record<string, string> => node.metadata?.labels ?? {};

const isFinished = (job: V1Job): boolean =>
  (job.status?.conditions ?? []).some(
    (c) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
  );

/** Installer Jobs of one operation that appeared since `before` (names from jobs.names()). */
function newJobs(before: readonly string[], operation: 'install' | 'uninstall'): V1Job[] {
  return [...jobs.objects.values()].filter(
    (j) =>
      !before.includes(j.metadata?.name ?? '') &&
      j.metadata?.labels?.[LABELS.operation] === operation,
  );
}

/** The installer pod of a Job once it terminated (the recorder keeps it after deletion). */
function terminatedInstaller(
  job: V1Job,
): Promise<{ pod: V1Pod; exitCode: number; report: InstallReport }> {
  return waitFor(
    `the installer pod of ${job.metadata?.name} to have terminated`,
    () => {
      const pod = [...pods.objects.values()].find(
        (p) => p.metadata?.labels?.[JOB_NAME_LABEL] === job.metadata?.name,
      );
      const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
      if (!pod || !terminated) return undefined;
      const parsed = parseInstallReport(terminated.message?.trim().split('\n').at(-1) ?? '');
      if (!parsed.ok) throw new Error(parsed.error);
      return { pod, exitCode: terminated.exitCode, report: parsed.report };
    },
    { timeoutMs: 30_000 },
  );
}

/**
 * The newest Event with this reason on the node, created at or after `since` (Events of earlier
 * runs live on for an hour). The operator posts it right after the node patch a scenario waits
 * for, so it is polled.
 */
function nodeEvent(reason: string, since: Date): Promise<CoreV1Event> {
  // Event timestamps have second precision.
  const after = since.getTime() - 1000;
  return waitFor(
    `a ${reason} Event on node ${cluster.nodeName}`,
    async () => {
      const { items } = await d.core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.kind=Node,involvedObject.name=${cluster.nodeName},reason=${reason}`,
      });
      return items.find((e) => (e.metadata?.creationTimestamp?.getTime() ?? 0) >= after);
    },
    { timeoutMs: 30_000 },
  );
}

/** Operator metrics, read on the node (the operator runs on the host network). */
async function metric(name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${OPERATOR_PORT}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

async function operatorPods(): Promise<V1Pod[]> {
  return (
    await d.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: OPERATOR_SELECTOR })
  ).items;
}

/**
 * Undoes whatever an earlier, interrupted run left: the release, the node's labels and
 * annotations, and our block in the containerd config (removed with the installer CLI run on
 * the host, as an admin without the operator would).
 */
async function resetNode(): Promise<void> {
  await uninstallOperator(d);
  await clearNodeMarkers(d);
  if (splitManagedBlock(containerdConfig().toString('utf8')).block === undefined) return;
  const scratch = mkdtempSync(path.join(tmpdir(), 'e2e-reset-'));
  try {
    await run(
      process.execPath,
      [
        repoPath('bin/wasm-node-installer.js'),
        'uninstall',
        '--runtimes',
        RUNTIME,
        '--host-root',
        '/',
        '--containerd-socket',
        cluster.containerdSocket,
        '--restart-command',
        cluster.restartContainerd,
        '--termination-log',
        path.join(scratch, 'report.json'),
      ],
      { timeoutMs: 120_000 },
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs the hello Wasm pod in the workloads namespace and checks it printed the greeting. */
async function expectHelloRuns() {
  const hello = await runHelloPod(d, { namespace: WORKLOADS, name: 'hello', timeoutMs: 120_000 });
  expect(hello.logs).toContain(GREETING);
  expect(hello.pod.status?.phase).toBe('Succeeded');
  return hello;
}

/**
 * One scenario: it runs only if every earlier one passed (they build on each other), and a
 * failure prints the operator and installer logs, Events and the containerd log tail. The body
 * gets the scenario's start time, to tell its Events from those of earlier scenarios and runs.
 */
function scenario(name: string, body: (started: Date) => Promise<void>): void {
  it(
    name,
    async () => {
      if (brokenBy) throw new Error(`not run: the earlier scenario "${brokenBy}" failed`);
      try {
        await body(new Date());
      } catch (err) {
        brokenBy = name;
        const gone = [...pods.objects.values()]
          .filter((p) => pods.deleted.has(p.metadata?.name ?? ''))
          .map(
            (p) =>
              `${p.metadata?.name}: ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`,
          );
        await dumpDiagnostics(cluster, {
          namespace: NAMESPACE,
          operatorSelector: OPERATOR_SELECTOR,
          installerSelector: INSTALLER_SELECTOR,
          extra: { 'installer pods already deleted (last state seen)': gone.join('\n') },
        });
        throw err;
      }
    },
    SCENARIO_MS,
  );
}

describe('wasm-node-operator on the local cluster', () => {
  beforeAll(async () => {
    cluster = await ensureCluster();
    d = connect(cluster, { progress: true });
    const images = mkdtempSync(path.join(tmpdir(), 'e2e-images-'));
    try {
      await buildImages(d, ['operator', 'installer', 'corrupt-installer', 'hello'], images);
    } finally {
      rmSync(images, { recursive: true, force: true });
    }
    await resetNode();
    original = containerdConfig();
    await d.kubectl(['delete', 'namespace', WORKLOADS, '--ignore-not-found', '--wait=true'], {
      timeoutMs: 120_000,
    });
    await d.core.createNamespace({ body: { metadata: { name: WORKLOADS } } });
    await waitFor(
      'the default service account',
      () => d.core.readNamespacedServiceAccount({ name: 'default', namespace: WORKLOADS }),
      {
        timeoutMs: 30_000,
      },
    );
    const kc = loadKubeConfig(cluster.kubeconfig);
    jobs = await ObjectRecorder.start<V1Job>(
      kc,
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
      INSTALLER_SELECTOR,
    );
    pods = await ObjectRecorder.start<V1Pod>(
      kc,
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      INSTALLER_SELECTOR,
    );
  }, SETUP_MS);

  afterAll(async () => {
    jobs?.stop();
    pods?.stop();
    if (!d) return;
    await d.kubectl(['delete', 'namespace', WORKLOADS, '--ignore-not-found', '--wait=false']);
    await resetNode();
  }, 5 * 60_000);

  let linuxContainer: string | undefined;

  scenario(
    'provision: opting the node in installs wasmtime through a privileged Job and runs a Wasm pod',
    async (started) => {
      await installOperator(d);
      // A plain Linux pod started before the install must live through the containerd restart.
      await d.core.createNamespacedPod({
        namespace: WORKLOADS,
        body: {
          metadata: { name: 'linux' },
          spec: {
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
      const linux = await waitFor(
        'the Linux pod to run',
        async () => {
          const pod = await d.core.readNamespacedPod({ name: 'linux', namespace: WORKLOADS });
          return pod.status?.containerStatuses?.[0]?.state?.running && pod;
        },
        { timeoutMs: 60_000 },
      );
      linuxContainer = linux.status?.containerStatuses?.[0]?.containerID;
      expect(labelsOf(await readNode())[READY_LABEL]).toBeUndefined();
      const pidBefore = containerdPid();
      const before = jobs.names();

      // Every poll reads the node, then the Jobs: a Job still running in the later read was running
      // when the node was read too, so a ready label in that node would have come too early.
      const polls: { ready: boolean; status: string | undefined; running: number }[] = [];
      await setOptIn(d, true);
      const node = await waitForNodeReady(d, {
        timeoutMs: INSTALL_MS,
        observe: (n, js) =>
          polls.push({
            ready: labelsOf(n)[READY_LABEL] === READY,
            status: labelsOf(n)[LABELS.status],
            running: js.filter((j) => !isFinished(j)).length,
          }),
      });
      expect(polls.filter((p) => p.running > 0 && p.ready)).toEqual([]);
      expect(polls.some((p) => p.running > 0 && p.status === STATUS.installing)).toBe(true);

      // The installer ran once, as a privileged host-PID pod on the node, and reported success.
      const [job, ...more] = newJobs(before, 'install');
      expect(more).toEqual([]);
      if (!job) throw new Error(`no install Job appeared (seen: ${jobs.names().join(', ')})`);
      const { pod, exitCode, report } = await terminatedInstaller(job);
      expect(pod.spec?.nodeName).toBe(cluster.nodeName);
      expect(pod.spec?.hostPID).toBe(true);
      expect(pod.spec?.containers[0]?.securityContext?.privileged).toBe(true);
      expect(pod.spec?.containers[0]?.image).toBe('localhost/wasm-node-installer:e2e');
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({ ok: true, changed: true, restarted: true });
      expect(report.runtimes).toEqual([expect.objectContaining({ name: RUNTIME, verified: true })]);

      // containerd runs again as a new process, with our block appended to the untouched file.
      expect(containerdPid()).not.toBe(pidBefore);
      const split = splitManagedBlock(containerdConfig().toString('utf8'));
      expect(split.base).toBe(original.toString('utf8'));
      expect(split.block).toContain('io.containerd.wasmtime.v1');
      expect((await handlers()).get(RUNTIME)).toBe('io.containerd.wasmtime.v1');

      expect(labelsOf(node)).toMatchObject({
        [READY_LABEL]: READY,
        [LABELS.provisioned]: 'true',
        [LABELS.status]: STATUS.ready,
      });
      expect((await nodeEvent('Installed', started)).message).toContain('(containerd restarted)');
      const runtimeClass = await d.nodeApi.readRuntimeClass({ name: RUNTIME });
      expect(runtimeClass).toMatchObject({
        handler: RUNTIME,
        // The label a kubelet cannot set itself (NodeRestriction); READY_LABEL is for people.
        scheduling: { nodeSelector: { [steeringLabel(RUNTIME)]: READY } },
      });

      const hello = await expectHelloRuns();
      expect(hello.pod.spec?.nodeName).toBe(cluster.nodeName);

      const after = await d.core.readNamespacedPod({ name: 'linux', namespace: WORKLOADS });
      expect(after.status?.phase).toBe('Running');
      expect(after.status?.containerStatuses?.[0]).toMatchObject({
        restartCount: 0,
        containerID: linuxContainer,
      });
    },
  );

  scenario(
    'idempotence and drift: reconciling again starts nothing; the drift check restores a regenerated config',
    async () => {
      const before = jobs.names();
      const verifiedAt = (await readNode()).metadata?.annotations?.[ANNOTATIONS.verifiedAt];
      expect(verifiedAt).toBeDefined();

      // A fresh operator process lists everything and reconciles the node from scratch.
      const [old] = await operatorPods();
      await d.core.deleteNamespacedPod({ name: old?.metadata?.name ?? '', namespace: NAMESPACE });
      await waitFor(
        'a new operator pod to be ready',
        async () => {
          const current = await operatorPods();
          return (
            current.length === 1 &&
            current[0]?.metadata?.name !== old?.metadata?.name &&
            current[0]?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          );
        },
        { timeoutMs: 120_000 },
      );
      // The new process has reconciled the node once it counts it as ready (the gauge is set by
      // the reconcile itself); a touch of the node makes it reconcile once more.
      await waitFor(
        'the new operator to have reconciled the node as ready',
        async () => (await metric('wasm_node_operator_nodes', 'state="ready"')) === 1,
        {
          timeoutMs: 60_000,
        },
      );
      const reconciles =
        (await metric('wasm_node_operator_reconcile_total', 'kind="node",result="ok"')) ?? 0;
      await patchNodeMetadata(d, {
        annotations: { 'e2e.wasm-node.dev/touched': new Date().toISOString() },
      });
      await waitFor(
        'the operator to reconcile the touched node',
        async () =>
          ((await metric('wasm_node_operator_reconcile_total', 'kind="node",result="ok"')) ?? 0) >
          reconciles,
        { timeoutMs: 30_000 },
      );
      expect(jobs.names()).toEqual(before);
      expect((await readNode()).metadata?.annotations?.[ANNOTATIONS.verifiedAt]).toBe(verifiedAt);

      // The distro regenerates the file at boot (our block gone) and containerd restarts with it.
      expect(splitManagedBlock(containerdConfig().toString('utf8')).base).toBe(
        original.toString('utf8'),
      );
      writeFileSync(cluster.containerdConfig, original);
      const pid = containerdPid();
      await run(cluster.restartContainerd, [], { timeoutMs: 90_000 });
      expect(containerdPid()).not.toBe(pid);
      expect((await handlers()).has(RUNTIME)).toBe(false);

      // The drift check: ready nodes are re-verified every 20 s by the idempotent installer Job.
      await installOperator(d, { reverifyInterval: '20s' });
      await waitFor(
        'the drift check to restore the wasmtime handler',
        async () =>
          splitManagedBlock(containerdConfig().toString('utf8')).block !== undefined &&
          (await handlers()).get(RUNTIME) === 'io.containerd.wasmtime.v1' &&
          isReady(await readNode()),
        { timeoutMs: INSTALL_MS },
      );
      const repairs = newJobs(before, 'install');
      expect(repairs.length).toBeGreaterThan(0);
      const reports = await Promise.all(
        repairs.map(async (j) => (await terminatedInstaller(j)).report),
      );
      expect(reports).toContainEqual(
        expect.objectContaining({ ok: true, changed: true, restarted: true }),
      );
      expect(splitManagedBlock(containerdConfig().toString('utf8')).base).toBe(
        original.toString('utf8'),
      );

      await expectHelloRuns();
    },
  );

  scenario(
    'opt-out: removing the annotation uninstalls, restores the config byte for byte and unschedules Wasm pods',
    async (started) => {
      const before = jobs.names();
      const pid = containerdPid();
      await setOptIn(d, false);
      const node = await waitFor(
        'the operator to remove every label and annotation it set',
        async () => {
          const n = await readNode();
          const keys = [...Object.keys(labelsOf(n)), ...Object.keys(n.metadata?.annotations ?? {})];
          return (
            !keys.some(
              (k) => k.startsWith('wasm-node.dev/') || k.startsWith('runtime.wasm-node.dev/'),
            ) && n
          );
        },
        { timeoutMs: INSTALL_MS },
      );
      expect(labelsOf(node)[READY_LABEL]).toBeUndefined();

      const [job] = newJobs(before, 'uninstall');
      if (!job) throw new Error(`no uninstall Job appeared (seen: ${jobs.names().join(', ')})`);
      const { exitCode, report } = await terminatedInstaller(job);
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({
        ok: true,
        operation: 'uninstall',
        changed: true,
        restarted: true,
      });
      expect(containerdConfig().equals(original)).toBe(true);
      expect(containerdPid()).not.toBe(pid);
      expect((await handlers()).has(RUNTIME)).toBe(false);
      expect((await nodeEvent('Uninstalled', started)).type).toBe('Normal');

      // The RuntimeClass stays (it is configured), but no node matches its selector any more.
      await d.core.createNamespacedPod({
        namespace: WORKLOADS,
        body: helloPod('hello-unschedulable'),
      });
      const pending = await waitFor(
        'the Wasm pod to be reported unschedulable',
        async () => {
          const p = await d.core.readNamespacedPod({
            name: 'hello-unschedulable',
            namespace: WORKLOADS,
          });
          const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
          return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && p;
        },
        { timeoutMs: 60_000 },
      );
      expect(pending.status?.phase).toBe('Pending');
      expect(pending.spec?.nodeName).toBeUndefined();
      await d.core.deleteNamespacedPod({ name: 'hello-unschedulable', namespace: WORKLOADS });

      const linux = await d.core.readNamespacedPod({ name: 'linux', namespace: WORKLOADS });
      expect(linux.status?.containerStatuses?.[0]).toMatchObject({
        restartCount: 0,
        containerID: linuxContainer,
      });
    },
  );

  scenario(
    'failure: a shim failing its checksum leaves the node unchanged, unlabelled, with a Warning Event',
    async (started) => {
      await installOperator(d, { installerTag: 'corrupt', reverifyInterval: '20s' });
      const before = jobs.names();
      const pid = containerdPid();
      await setOptIn(d, true);
      const node = await waitFor(
        'the operator to mark the node failed',
        async () => {
          const n = await readNode();
          return labelsOf(n)[LABELS.status] === STATUS.failed && n;
        },
        { timeoutMs: INSTALL_MS },
      );
      expect(labelsOf(node)[READY_LABEL]).toBeUndefined();
      expect(labelsOf(node)[LABELS.provisioned]).toBeUndefined();
      expect(node.metadata?.annotations?.[ANNOTATIONS.message]).toContain('checksum-mismatch');

      const [job] = newJobs(before, 'install');
      if (!job) throw new Error(`no install Job appeared (seen: ${jobs.names().join(', ')})`);
      const { pod, exitCode, report } = await terminatedInstaller(job);
      expect(pod.spec?.containers[0]?.image).toBe('localhost/wasm-node-installer:corrupt');
      expect(exitCode).not.toBe(0);
      expect(report).toMatchObject({
        ok: false,
        changed: false,
        restarted: false,
        error: { code: 'checksum-mismatch' },
      });

      // Nothing on the node changed: same file, same containerd process, no handler.
      expect(containerdConfig().equals(original)).toBe(true);
      expect(containerdPid()).toBe(pid);
      expect((await handlers()).has(RUNTIME)).toBe(false);

      const warning = await nodeEvent('InstallFailed', started);
      expect(warning.type).toBe('Warning');
      expect(warning.message).toContain('checksum-mismatch');
      expect(warning.message).toContain('corrupt or tampered');
    },
  );
});
