// The operator on the local cluster, driven the same way by `npm run demo` (e2e/demo.ts) and the
// end-to-end suite (e2e/wasm-node.test.ts): offline images imported into every node machine, the
// Helm chart with the values a cluster without kube-proxy needs, opting nodes in and out, and the
// hello Wasm pod.
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
import {
  ANNOTATIONS,
  LABELS,
  MANAGED_BY_VALUE,
  READY,
  STATUS,
  runtimeLabel,
} from '../src/operator/keys.ts';
import { nodeMachine, type ClusterInfo } from '../test/support/cluster.ts';
import { CHART_DIR, helm } from '../test/support/helm.ts';
import {
  buildImages as buildVariants,
  type BuiltImage,
  type ImageVariant,
} from '../test/support/images.ts';
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
/** The operator's /healthz, /readyz and /metrics port: on its node's address (host network). */
export const OPERATOR_PORT = 18080;

/** A cold machine compiles the Wasm shim and builds the images from the Dockerfile. */
const IMAGE_BUILD_MS = 60 * 60_000;
const ROLLOUT_TIMEOUT_S = 180;

export type LocalImage = 'operator' | 'installer' | 'corrupt-installer' | 'hello';

/** The images built from the Dockerfile (scripts/images.sh, cached by their inputs). */
const DOCKERFILE_VARIANTS = {
  operator: 'operator',
  installer: 'installer',
  'corrupt-installer': 'installer-corrupt',
} as const satisfies Partial<Record<LocalImage, ImageVariant>>;

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

/**
 * The images as users run them, from the Dockerfile (cached by their inputs: seconds once built)
 * and the hello-Wasm image, imported into every node.
 */
export async function buildImages(d: LocalDeploy, images: readonly LocalImage[]): Promise<void> {
  const variants = images.flatMap((i) => (i === 'hello' ? [] : [DOCKERFILE_VARIANTS[i]]));
  const built = variants.length > 0 ? await buildVariants(variants, { progress: d.progress }) : {};
  const archives = Object.values<BuiltImage>(built).map((image) => image.archive);
  if (images.includes('hello')) {
    const stdout = await runScript('e2e/wasm/build-hello-image.sh', [], {
      progress: d.progress,
      timeoutMs: IMAGE_BUILD_MS,
    });
    archives.push(stdout.trim().split('\n').at(-1) ?? '');
  }
  await importImages(d, archives);
}

/** Imports image archives into the containerd of every node machine, all nodes at once. */
export async function importImages(d: LocalDeploy, archives: readonly string[]): Promise<void> {
  await Promise.all(
    d.cluster.nodes.map((node) => nodeMachine(d.cluster, node).importImages(archives)),
  );
}

export interface OperatorOptions {
  /** Tag of localhost/wasm-node-installer: `e2e`, `corrupt` (failure scenario), `crun-wasm`. */
  installerTag?: string;
  /** config.runtimes; the test shim's wasmtime unless given. */
  runtimes?: readonly string[];
  /** The drift check: how often ready nodes are re-verified. */
  reverifyInterval?: string;
  /** Installer Jobs at once (a count or "N%"). */
  maxConcurrentInstalls?: number | string;
  /** Failed nodes that pause the rollout. */
  failureBudget?: number;
  /** Added to the RuntimeClass's scheduling.tolerations (dedicated Wasm nodes). */
  runtimeClassTolerations?: Record<string, string>[];
}

/**
 * Chart values for the local cluster: local images, no kube-proxy. No restart command: the
 * installer restarts containerd through each node's systemd, as on users' nodes.
 */
export function operatorValues(
  cluster: ClusterInfo,
  opts: OperatorOptions = {},
): Record<string, unknown> {
  const apiserver = new URL(cluster.server);
  return {
    image: { repository: 'localhost/wasm-node-operator', tag: 'e2e', pullPolicy: 'Never' },
    installerImage: {
      repository: 'localhost/wasm-node-installer',
      tag: opts.installerTag ?? 'e2e',
    },
    // No Service network here: the operator talks to the apiserver on the cluster bridge.
    hostNetwork: true,
    env: [
      { name: 'KUBERNETES_SERVICE_HOST', value: apiserver.hostname },
      { name: 'KUBERNETES_SERVICE_PORT', value: apiserver.port },
    ],
    config: {
      runtimes: opts.runtimes ?? [RUNTIME],
      installer: { imagePullPolicy: 'Never' },
      rollout: {
        reverifyInterval: opts.reverifyInterval ?? '1h',
        ...(opts.maxConcurrentInstalls === undefined
          ? {}
          : { maxConcurrentInstalls: opts.maxConcurrentInstalls }),
        ...(opts.failureBudget === undefined ? {} : { failureBudget: opts.failureBudget }),
      },
      ...(opts.runtimeClassTolerations
        ? { runtimeClass: { tolerations: opts.runtimeClassTolerations } }
        : {}),
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

/** Removes the release, its namespace and the operator's RuntimeClasses (the chart does not own them). */
export async function uninstallOperator(d: LocalDeploy): Promise<void> {
  await helm(['uninstall', RELEASE, '--ignore-not-found', '--wait'], {
    namespace: NAMESPACE,
    kubeconfig: d.cluster.kubeconfig,
  });
  await d.kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true'], {
    timeoutMs: 180_000,
  });
  await d.kubectl(['delete', 'runtimeclass', '-l', `${LABELS.managedBy}=${MANAGED_BY_VALUE}`]);
}

export async function patchNodeMetadata(
  d: LocalDeploy,
  node: string,
  metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
): Promise<void> {
  await d.core.patchNode(
    { name: node, body: { metadata } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** `kubectl annotate node <node> wasm-node=true`, or its removal (opt-out). */
export function setOptIn(d: LocalDeploy, node: string, optedIn: boolean): Promise<void> {
  return patchNodeMetadata(d, node, {
    annotations: { [OPT_IN_ANNOTATION]: optedIn ? 'true' : null },
  });
}

/** Strips every label and annotation the operator or the opt-in put on the node. */
export async function clearNodeMarkers(d: LocalDeploy, node: string): Promise<void> {
  const current = await d.core.readNode({ name: node });
  const ours = (key: string) => key === OPT_IN_ANNOTATION || key.includes('wasm-node.dev');
  const nulls = (record: Record<string, string> = {}) =>
    Object.fromEntries(
      Object.keys(record)
        .filter(ours)
        .map((k) => [k, null]),
    );
  await patchNodeMetadata(d, node, {
    labels: nulls(current.metadata?.labels),
    annotations: nulls(current.metadata?.annotations),
  });
}

export function installerJobs(d: LocalDeploy): Promise<V1Job[]> {
  return d.batch.listNamespacedJob({ namespace: NAMESPACE }).then((list) => list.items);
}

/** Labelled ready for wasmtime, the test shim's runtime. */
export function isReady(node: V1Node): boolean {
  return isRuntimeReady(node, RUNTIME);
}

export function isRuntimeReady(node: V1Node, runtime: string): boolean {
  const labels = node.metadata?.labels ?? {};
  return labels[runtimeLabel(runtime)] === READY && labels[LABELS.status] === STATUS.ready;
}

/**
 * Polls until the operator labels the node ready; fails at once when it records a failure.
 * `observe` sees every poll: the node first, then the Jobs listed after it.
 */
export function waitForNodeReady(
  d: LocalDeploy,
  name: string,
  opts: {
    timeoutMs: number;
    runtime?: string;
    observe?: (node: V1Node, jobs: V1Job[]) => void;
  },
): Promise<V1Node> {
  let failure: string | undefined;
  return waitFor(
    `node ${name} to be labelled ${runtimeLabel(opts.runtime ?? RUNTIME)}=${READY}`,
    async () => {
      const node = await d.core.readNode({ name });
      opts.observe?.(node, await installerJobs(d));
      if (node.metadata?.labels?.[LABELS.status] === STATUS.failed) {
        failure = `the operator marked node ${name} failed: ${node.metadata.annotations?.[ANNOTATIONS.message] ?? '(no message)'}`;
      }
      return isRuntimeReady(node, opts.runtime ?? RUNTIME) && node;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 250, abortIf: () => failure },
  );
}

export interface WasmPodResult {
  pod: V1Pod;
  logs: string;
}

/**
 * Runs the WASI hello module with runtimeClassName wasmtime until it exits, and reads its logs;
 * on `node` when given (through the scheduler, which also applies the RuntimeClass's selector).
 */
export async function runHelloPod(
  d: LocalDeploy,
  opts: { namespace: string; name: string; timeoutMs: number; node?: string },
): Promise<WasmPodResult> {
  const { namespace, name } = opts;
  await d.kubectl(['-n', namespace, 'delete', 'pod', name, '--ignore-not-found', '--wait=true']);
  await d.core.createNamespacedPod({ namespace, body: helloPod(name, opts.node) });
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

export function helloPod(name: string, node?: string): V1Pod {
  return {
    metadata: { name, labels: { app: 'wasm-hello' } },
    spec: {
      ...(node ? { nodeSelector: { 'kubernetes.io/hostname': node } } : {}),
      runtimeClassName: RUNTIME,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      containers: [{ name: 'hello', image: HELLO_IMAGE, imagePullPolicy: 'Never' }],
    },
  };
}
