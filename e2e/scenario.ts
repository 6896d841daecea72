// The frame every cluster scenario file shares: the cluster and its images, recorders of the
// installer Jobs and pods (the operator deletes them once recorded), ordered scenarios that
// dump diagnostics when they fail, and what they ask of the operator: Jobs, Events, metrics.
import { expect, it } from '@jest/globals';
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { parseInstallReport, type InstallReport } from '../src/formats/install-report.ts';
import { LABELS } from '../src/operator/keys.ts';
import { clusterDown, ensureCluster, type ClusterInfo } from '../test/support/cluster.ts';
import { overlaps, type RestartWindow } from '../test/support/containerd-restarts.ts';
import { dumpDiagnostics } from '../test/support/diagnostics.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import { ObjectRecorder } from '../test/support/object-recorder.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  NAMESPACE,
  OPERATOR_PORT,
  RELEASE,
  buildImages,
  clearNodeMarkers,
  connect,
  uninstallOperator,
  type LocalDeploy,
  type LocalImage,
} from './local-deploy.ts';
import { probes, type NodeProbe } from './node-probe.ts';

/** Where the Wasm and Linux workload pods run. */
export const WORKLOADS = 'wasm-e2e';
export const OPERATOR_SELECTOR = `app.kubernetes.io/name=${RELEASE},app.kubernetes.io/instance=${RELEASE}`;
const INSTALLER_SELECTOR = `${LABELS.component}=installer`;
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const SCENARIO_MS = 8 * 60_000;
export const SETUP_MS = 60 * 60_000;

export interface Testbed {
  cluster: ClusterInfo;
  d: LocalDeploy;
  nodes: NodeProbe[];
  /** Each node's containerd config as the cluster made it, before any scenario. */
  original: Map<string, string | undefined>;
  jobs: ObjectRecorder<V1Job>;
  pods: ObjectRecorder<V1Pod>;
}

/**
 * The cluster with the images imported into every node, the operator gone, every node clean
 * (a node an interrupted run left changed makes the cluster start over), the workloads
 * namespace fresh, and the recorders watching.
 */
export async function setUpTestbed(images: readonly LocalImage[]): Promise<Testbed> {
  let cluster = await ensureCluster();
  let d = connect(cluster, { progress: true });
  await uninstallOperator(d);
  if (!(await allClean(cluster))) {
    process.stderr.write('a node is not as the cluster made it: starting the cluster over\n');
    await clusterDown();
    cluster = await ensureCluster();
    d = connect(cluster, { progress: true });
  }
  for (const node of cluster.nodes) await clearNodeMarkers(d, node.name);
  await buildImages(d, images);
  await d.kubectl(['delete', 'namespace', WORKLOADS, '--ignore-not-found', '--wait=true'], {
    timeoutMs: 120_000,
  });
  await d.core.createNamespace({ body: { metadata: { name: WORKLOADS } } });
  await waitFor(
    'the default service account',
    () => d.core.readNamespacedServiceAccount({ name: 'default', namespace: WORKLOADS }),
    { timeoutMs: 30_000 },
  );
  const nodes = probes(cluster);
  const original = new Map(
    await Promise.all(nodes.map(async (n) => [n.name, await n.config()] as const)),
  );
  const kc = loadKubeConfig(cluster.kubeconfig);
  const jobs = await ObjectRecorder.start<V1Job>(
    kc,
    `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
    INSTALLER_SELECTOR,
  );
  const pods = await ObjectRecorder.start<V1Pod>(
    kc,
    `/api/v1/namespaces/${NAMESPACE}/pods`,
    INSTALLER_SELECTOR,
  );
  return { cluster, d, nodes, original, jobs, pods };
}

/** True when no node's containerd config carries the installer's block. */
async function allClean(cluster: ClusterInfo): Promise<boolean> {
  const configs = await Promise.all(probes(cluster).map((n) => n.config()));
  return configs.every((c) => c === undefined || splitManagedBlock(c).block === undefined);
}

export async function tearDownTestbed(t: Testbed | undefined): Promise<void> {
  t?.jobs.stop();
  t?.pods.stop();
  if (!t) return;
  await t.d.kubectl(['delete', 'namespace', WORKLOADS, '--ignore-not-found', '--wait=false']);
}

/**
 * Declares scenarios that build on each other: one runs only if every earlier one passed, and a
 * failure prints the operator and installer logs, Events and the nodes' journals. The body gets
 * the scenario's start time, to tell its Events from those of earlier scenarios and runs.
 */
export function scenarios(testbed: () => Testbed) {
  let brokenBy: string | undefined;
  return (name: string, body: (started: Date) => Promise<void>, timeoutMs = SCENARIO_MS) =>
    it(
      name,
      async () => {
        if (brokenBy) throw new Error(`not run: the earlier scenario "${brokenBy}" failed`);
        const t = testbed();
        try {
          await body(new Date());
        } catch (err) {
          brokenBy = name;
          const gone = [...t.pods.objects.values()]
            .filter((p) => t.pods.deleted.has(p.metadata?.name ?? ''))
            .map(
              (p) =>
                `${p.metadata?.name}: ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`,
            );
          await dumpDiagnostics(t.cluster, {
            namespace: NAMESPACE,
            operatorSelector: OPERATOR_SELECTOR,
            installerSelector: INSTALLER_SELECTOR,
            extra: { 'installer pods already deleted (last state seen)': gone.join('\n') },
          });
          throw err;
        }
      },
      timeoutMs,
    );
}

/** Installer Jobs of one operation that appeared since `before` (names from jobs.names()). */
export function newJobs(
  t: Testbed,
  before: readonly string[],
  operation: 'install' | 'uninstall',
  node?: string,
): V1Job[] {
  return [...t.jobs.objects.values()].filter(
    (j) =>
      !before.includes(j.metadata?.name ?? '') &&
      j.metadata?.labels?.[LABELS.operation] === operation &&
      (node === undefined || jobNode(j) === node),
  );
}

/** The one Job of `operation` on `node` since `before`, with its installer pod once terminated. */
export async function onlyNewJob(
  t: Testbed,
  before: readonly string[],
  operation: 'install' | 'uninstall',
  node: string,
): Promise<{ job: V1Job; pod: V1Pod; exitCode: number; report: InstallReport }> {
  const [job, ...more] = newJobs(t, before, operation, node);
  expect(more).toEqual([]);
  if (!job) throw new Error(`no ${operation} Job for ${node} (seen: ${t.jobs.names().join(', ')})`);
  return { job, ...(await terminatedInstaller(t, job)) };
}

export const jobNode = (job: V1Job): string | undefined => job.spec?.template.spec?.nodeName;

export const isFinished = (job: V1Job): boolean =>
  (job.status?.conditions ?? []).some(
    (c) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True',
  );

/** The installer pod of a Job once it terminated (the recorder keeps it after deletion). */
export function terminatedInstaller(
  t: Testbed,
  job: V1Job,
): Promise<{ pod: V1Pod; exitCode: number; report: InstallReport }> {
  return waitFor(
    `the installer pod of ${job.metadata?.name} to have terminated`,
    () => {
      const pod = [...t.pods.objects.values()].find(
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
export function nodeEvent(
  t: Testbed,
  node: string,
  reason: string,
  since: Date,
): Promise<CoreV1Event> {
  const after = since.getTime() - 1000; // Event timestamps have second precision.
  return waitFor(
    `a ${reason} Event on node ${node}`,
    async () => {
      const { items } = await t.d.core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node},reason=${reason}`,
      });
      return items.find((e) => (e.metadata?.creationTimestamp?.getTime() ?? 0) >= after);
    },
    { timeoutMs: 30_000 },
  );
}

export async function operatorPods(t: Testbed): Promise<V1Pod[]> {
  return (
    await t.d.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: OPERATOR_SELECTOR })
  ).items;
}

/** An operator metric, read where the operator listens: its node's address (host network). */
export async function metric(
  t: Testbed,
  name: string,
  labels: string,
): Promise<number | undefined> {
  const [pod] = (await operatorPods(t)).filter((p) => p.status?.phase === 'Running');
  if (!pod?.status?.hostIP) return undefined;
  const text = await (await fetch(`http://${pod.status.hostIP}:${OPERATOR_PORT}/metrics`)).text();
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** The nodes' containerd restarts (systemd's journals) since `since`: one each, never two at once. */
export async function expectOneRestartEachInTurn(
  nodes: readonly NodeProbe[],
  since: Date,
): Promise<RestartWindow[]> {
  const windows = (await Promise.all(nodes.map((n) => n.restarts(since.getTime() * 1000)))).flat();
  expect(windows.map((w) => w.node).sort()).toEqual(nodes.map((n) => n.name).sort());
  expect(overlaps(windows)).toEqual([]);
  return windows;
}
