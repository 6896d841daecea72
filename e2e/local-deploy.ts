// The operator on the local cluster, driven the same way by `npm run demo` (e2e/demo.ts) and the
// end-to-end suite (e2e/wasm-node.test.ts): offline images, the Helm chart with the values a
// cluster without kube-proxy needs, opting the node in and out, and the hello Wasm pod.
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  NodeV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { ANNOTATIONS, LABELS, READY, STATUS, runtimeLabel } from '../src/operator/keys.ts';
import type { ClusterInfo } from '../test/support/cluster.ts';
import { CHART_DIR, helm } from '../test/support/helm.ts';
import { kubectlFor, loadKubeConfig, type Kubectl } from '../test/support/kube.ts';
import { repoPath } from '../test/support/repo.ts';
import { runCommand } from '../test/support/run-command.ts';
import { waitFor } from '../test/support/wait.ts';

export const NAMESPACE = 'wasm-node-system';
/** The release name contains the chart's, so the chart names its objects just this. */
export const RELEASE = 'wasm-node-operator';
export const OPT_IN_ANNOTATION = 'wasm-node';
/** The only runtime the offline installer image ships (the test shim). */
export const RUNTIME = 'wasmtime';
export const READY_LABEL = runtimeLabel(RUNTIME);
export const HELLO_IMAGE = 'localhost/wasm-hello:v1';
export const GREETING = 'Hello from WebAssembly on wasm-node-operator!';
/** The operator's /healthz, /readyz and /metrics port: on the node itself (host network). */
export const OPERATOR_PORT = 18080;

/** A cold machine compiles the Wasm shim for the installer image. */
const IMAGE_BUILD_MS = 45 * 60_000;
const ROLLOUT_TIMEOUT_S = 180;

export type LocalImage = 'operator' | 'installer' | 'corrupt-installer' | 'hello';

/** Scripts printing nothing on stdout build OUT; build-hello-image.sh prints its cached archive. */
const IMAGE_SCRIPTS: Record<LocalImage, { script: string; args: string[]; out?: string }> = {
  operator: { script: 'e2e/images/build-operator-image.sh', args: [], out: 'operator.tar' },
  installer: { script: 'e2e/images/build-installer-image.sh', args: [], out: 'installer.tar' },
  'corrupt-installer': {
    script: 'e2e/images/build-installer-image.sh',
    args: ['--corrupt-shim'],
    out: 'installer-corrupt.tar',
  },
  hello: { script: 'e2e/wasm/build-hello-image.sh', args: [] },
};

export interface LocalDeploy {
  cluster: ClusterInfo;
  core: CoreV1Api;
  batch: BatchV1Api;
  apps: AppsV1Api;
  nodeApi: NodeV1Api;
  kubectl: Kubectl;
  /** Long steps stream their progress to stderr (the demo, and cold builds in CI). */
  progress: boolean;
}

export function connect(cluster: ClusterInfo, opts: { progress: boolean }): LocalDeploy {
  const kc = loadKubeConfig(cluster.kubeconfig);
  return {
    cluster,
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    nodeApi: kc.makeApiClient(NodeV1Api),
    kubectl: kubectlFor(cluster.kubectl, cluster.kubeconfig),
    progress: opts.progress,
  };
}

/** Runs a repository script; resolves with its stdout, rejects with its stderr tail. */
export async function runScript(
  script: string,
  args: string[],
  opts: { progress: boolean; timeoutMs: number },
): Promise<string> {
  const result = await runCommand('bash', [repoPath(script), ...args], {
    cwd: repoPath('.'),
    timeoutMs: opts.timeoutMs,
    stderr: opts.progress ? 'inherit' : 'pipe',
  });
  if (result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-30).join('\n');
    throw new Error(
      `${script} ${args.join(' ')} failed (${result.code ?? result.signal})\n${tail}`,
    );
  }
  return result.stdout;
}

/** Builds the images one after the other (2 cores), then imports them into the node's containerd. */
export async function buildImages(
  d: LocalDeploy,
  images: readonly LocalImage[],
  dir: string,
): Promise<void> {
  const opts = { progress: d.progress, timeoutMs: IMAGE_BUILD_MS };
  const archives: string[] = [];
  for (const image of images) {
    const { script, args, out } = IMAGE_SCRIPTS[image];
    const archive = out ? `${dir}/${out}` : undefined;
    const stdout = await runScript(script, archive ? [...args, archive] : args, opts);
    archives.push(archive ?? stdout.trim().split('\n').at(-1) ?? '');
  }
  const socket = ['--address', d.cluster.containerdSocket];
  await runScript('e2e/images/import.sh', [...socket, ...archives], {
    ...opts,
    timeoutMs: 5 * 60_000,
  });
}

export interface OperatorOptions {
  /** Tag of localhost/wasm-node-installer: `e2e`, or `corrupt` for the failure scenario. */
  installerTag?: string;
  /** The drift check: how often ready nodes are re-verified. */
  reverifyInterval?: string;
}

/** Chart values for the local cluster: local images, no kube-proxy, the supervisor's restart. */
export function operatorValues(
  cluster: ClusterInfo,
  opts: OperatorOptions = {},
): Record<string, unknown> {
  return {
    image: { repository: 'localhost/wasm-node-operator', tag: 'e2e', pullPolicy: 'Never' },
    installerImage: {
      repository: 'localhost/wasm-node-installer',
      tag: opts.installerTag ?? 'e2e',
    },
    // No Service network here: the operator talks to the apiserver on the node's loopback.
    hostNetwork: true,
    env: [
      { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: new URL(cluster.server).port },
    ],
    config: {
      runtimes: [RUNTIME],
      installer: { imagePullPolicy: 'Never', restartCommand: cluster.restartContainerd },
      rollout: { reverifyInterval: opts.reverifyInterval ?? '1h' },
      server: { port: OPERATOR_PORT },
    },
  };
}

/**
 * `helm upgrade --install` into a namespace labelled for the privileged installer pods, then
 * waits until the Deployment's new pods are ready.
 */
export async function installOperator(d: LocalDeploy, opts: OperatorOptions = {}): Promise<void> {
  await d.core
    .createNamespace({
      body: {
        metadata: {
          name: NAMESPACE,
          labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      },
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  const result = await helm(['upgrade', '--install', RELEASE, CHART_DIR], {
    values: operatorValues(d.cluster, opts),
    namespace: NAMESPACE,
    kubeconfig: d.cluster.kubeconfig,
  });
  if (result.code !== 0) throw new Error(`helm upgrade --install failed:\n${result.stderr.trim()}`);
  await waitForOperatorRollout(d);
}

export async function waitForOperatorRollout(d: LocalDeploy): Promise<void> {
  await d.kubectl(
    [
      '-n',
      NAMESPACE,
      'rollout',
      'status',
      `deployment/${RELEASE}`,
      `--timeout=${ROLLOUT_TIMEOUT_S}s`,
    ],
    { timeoutMs: (ROLLOUT_TIMEOUT_S + 10) * 1000 },
  );
}

/** Removes the release, its namespace and the operator's RuntimeClass (the chart does not own it). */
export async function uninstallOperator(d: LocalDeploy): Promise<void> {
  await helm(['uninstall', RELEASE, '--ignore-not-found', '--wait'], {
    namespace: NAMESPACE,
    kubeconfig: d.cluster.kubeconfig,
  });
  await d.kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true'], {
    timeoutMs: 180_000,
  });
  await d.kubectl(['delete', 'runtimeclass', RUNTIME, '--ignore-not-found']);
}

export async function patchNodeMetadata(
  d: LocalDeploy,
  metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
): Promise<void> {
  await d.core.patchNode(
    { name: d.cluster.nodeName, body: { metadata } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** `kubectl annotate node <node> wasm-node=true`, or its removal (opt-out). */
export function setOptIn(d: LocalDeploy, optedIn: boolean): Promise<void> {
  return patchNodeMetadata(d, { annotations: { [OPT_IN_ANNOTATION]: optedIn ? 'true' : null } });
}

/** Strips every label and annotation the operator or the opt-in put on the node. */
export async function clearNodeMarkers(d: LocalDeploy): Promise<void> {
  const node = await d.core.readNode({ name: d.cluster.nodeName });
  const ours = (key: string) => key === OPT_IN_ANNOTATION || key.includes('wasm-node.dev/');
  const nulls = (record: Record<string, string> = {}) =>
    Object.fromEntries(
      Object.keys(record)
        .filter(ours)
        .map((k) => [k, null]),
    );
  await patchNodeMetadata(d, {
    labels: nulls(node.metadata?.labels),
    annotations: nulls(node.metadata?.annotations),
  });
}

export function installerJobs(d: LocalDeploy): Promise<V1Job[]> {
  return d.batch.listNamespacedJob({ namespace: NAMESPACE }).then((list) => list.items);
}

export function isReady(node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return labels[READY_LABEL] === READY && labels[LABELS.status] === STATUS.ready;
}

/**
 * Polls until the operator labels the node ready; fails at once when it records a failure.
 * `observe` sees every poll: the node first, then the Jobs listed after it.
 */
export function waitForNodeReady(
  d: LocalDeploy,
  opts: { timeoutMs: number; observe?: (node: V1Node, jobs: V1Job[]) => void },
): Promise<V1Node> {
  let failure: string | undefined;
  return waitFor(
    `node ${d.cluster.nodeName} to be labelled ${READY_LABEL}=${READY}`,
    async () => {
      const node = await d.core.readNode({ name: d.cluster.nodeName });
      opts.observe?.(node, await installerJobs(d));
      if (node.metadata?.labels?.[LABELS.status] === STATUS.failed) {
        failure = `the operator marked the node failed: ${node.metadata.annotations?.[ANNOTATIONS.message] ?? '(no message)'}`;
      }
      return isReady(node) && node;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 250, abortIf: () => failure },
  );
}

export interface WasmPodResult {
  pod: V1Pod;
  logs: string;
}

/** Runs the WASI hello module with runtimeClassName wasmtime until it exits, and reads its logs. */
export async function runHelloPod(
  d: LocalDeploy,
  opts: { namespace: string; name: string; timeoutMs: number },
): Promise<WasmPodResult> {
  const { namespace, name } = opts;
  await d.kubectl(['-n', namespace, 'delete', 'pod', name, '--ignore-not-found', '--wait=true']);
  await d.core.createNamespacedPod({ namespace, body: helloPod(name) });
  const pod = await waitFor(
    `Wasm pod ${namespace}/${name} to exit`,
    async () => {
      const p = await d.core.readNamespacedPod({ name, namespace });
      return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') && p;
    },
    {
      timeoutMs: opts.timeoutMs,
      diagnostics: () =>
        d.kubectl(['-n', namespace, 'describe', 'pod', name]).catch((e: Error) => e.message),
    },
  );
  return { pod, logs: await d.kubectl(['-n', namespace, 'logs', name]) };
}

export function helloPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { app: 'wasm-hello' } },
    spec: {
      runtimeClassName: RUNTIME,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      containers: [{ name: 'hello', image: HELLO_IMAGE, imagePullPolicy: 'Never' }],
    },
  };
}
