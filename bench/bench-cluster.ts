import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { Agent } from 'undici';
import {
  FlowcontrolApiserverV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  setHeaderOptions,
  type V1Job,
  type V1Node,
} from '@kubernetes/client-node';
import { LABELS } from '../src/operator/keys.ts';
import {
  NAMESPACE,
  startCluster,
  type TestCluster,
} from '../test/apiserver/support/test-cluster.ts';
import { FakeKubelet, installReport } from '../test/apiserver/support/fake-kubelet.ts';
import { mapLimit } from './pool.ts';
import { realisticNode } from './realistic-node.ts';
import { parsePrometheus, type Sample } from './prometheus.ts';

export { NAMESPACE };

const OPERATOR_SA = 'wasm-node-operator';
/** A FlowSchema of its own makes the apiserver count the operator's requests separately. */
export const OPERATOR_FLOW_SCHEMA = 'wasm-node-operator-bench';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export interface BenchCluster {
  c: TestCluster;
  /** Kubeconfig with the operator's ServiceAccount token (not the admin's client cert). */
  operatorKubeconfig: string;
  /** Raw Prometheus text of the apiserver's /metrics, fetched with the admin cert. */
  apiserverMetrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real etcd + kube-apiserver (no kubelet, no controller-manager) where the operator runs as
 * a ServiceAccount under its own FlowSchema, so that apiserver metrics can single out its
 * requests: the bench itself uses the admin cert (system:masters, the exempt FlowSchema).
 */
export async function startBenchCluster(): Promise<BenchCluster> {
  const c = await startCluster();
  const pki = path.join(c.cp.workDir, 'pki');
  const tls = {
    ca: readFileSync(path.join(pki, 'ca.crt')),
    cert: readFileSync(path.join(pki, 'admin.crt')),
    key: readFileSync(path.join(pki, 'admin.key')),
  };
  const pooled = shareOneConnectionPool(c.kc, tls);
  try {
    await c.core.createNamespacedServiceAccount({
      namespace: NAMESPACE,
      body: { metadata: { name: OPERATOR_SA } },
    });
    // cluster-admin keeps the bench independent of the chart; RBAC does not change request counts.
    await c.kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: OPERATOR_SA },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'cluster-admin',
        },
        subjects: [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace: NAMESPACE }],
      },
    });
    await c.kc.makeApiClient(FlowcontrolApiserverV1Api).createFlowSchema({
      body: {
        metadata: { name: OPERATOR_FLOW_SCHEMA },
        spec: {
          matchingPrecedence: 500,
          priorityLevelConfiguration: { name: 'workload-high' },
          distinguisherMethod: { type: 'ByUser' },
          rules: [
            {
              subjects: [
                {
                  kind: 'ServiceAccount',
                  serviceAccount: { name: OPERATOR_SA, namespace: NAMESPACE },
                },
              ],
              resourceRules: [
                {
                  verbs: ['*'],
                  apiGroups: ['*'],
                  resources: ['*'],
                  namespaces: ['*'],
                  clusterScope: true,
                },
              ],
              nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
            },
          ],
        },
      },
    });
    const token = await c.core.createNamespacedServiceAccountToken({
      namespace: NAMESPACE,
      name: OPERATOR_SA,
      body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
    });
    const cluster = c.kc.getCurrentCluster()!;
    const operatorKc = new KubeConfig();
    operatorKc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: OPERATOR_SA, token: token.status!.token }],
      contexts: [{ name: 'operator', cluster: cluster.name, user: OPERATOR_SA }],
      currentContext: 'operator',
    });
    const operatorKubeconfig = path.join(c.cp.workDir, 'operator.kubeconfig');
    await writeFile(operatorKubeconfig, operatorKc.exportConfig(), { mode: 0o600 });
    return {
      c,
      operatorKubeconfig,
      apiserverMetrics: () => httpsText(`${c.cp.server}/metrics`, tls),
      stop: async () => {
        await pooled.close();
        await c.stop();
      },
    };
  } catch (error) {
    await pooled.close();
    await c.stop();
    throw error;
  }
}

/**
 * client-node 2.x builds a new undici Agent, so a new TLS connection, for every request it
 * sends: the bench's own clients (node creation, opt-in patches, the simulated kubelet) would
 * spend most of their CPU on handshakes and become the bottleneck. One Agent for all of them.
 */
function shareOneConnectionPool(
  kc: KubeConfig,
  tls: { ca: Buffer; cert: Buffer; key: Buffer },
): Agent {
  // HTTP/1.1: with undici's HTTP/2 (allowH2), a 5,000-node run stopped midway: the one
  // session's watches delivered nothing more and no request finished.
  // No body timeout: a watch may be quiet for longer than undici's default 300 s.
  const agent = new Agent({ connect: tls, connections: 64, bodyTimeout: 0 });
  const authenticate = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (context) => {
    await authenticate(context);
    context.setDispatcher(agent);
  };
  return agent;
}

function httpsText(url: string, tls: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ...tls, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/** apiserver_request_total samples (verb, resource, subresource, code, ...). */
export async function apiserverRequests(b: BenchCluster): Promise<Sample[]> {
  return parsePrometheus(await b.apiserverMetrics(), 'apiserver_request_total');
}

/** Requests the apiserver dispatched under the operator's FlowSchema (all verbs). */
export async function operatorDispatched(b: BenchCluster): Promise<number> {
  return parsePrometheus(
    await b.apiserverMetrics(),
    'apiserver_flowcontrol_dispatched_requests_total',
  )
    .filter((s) => s.labels.flow_schema === OPERATOR_FLOW_SCHEMA)
    .reduce((sum, s) => sum + s.value, 0);
}

/** Creates nodes with bounded parallelism (the admin is APF-exempt, so only this bounds it). */
export async function createNodes(
  b: BenchCluster,
  names: string[],
  annotations: Record<string, string>,
  concurrency = 32,
): Promise<void> {
  await mapLimit(names, concurrency, (name) =>
    b.c.core.createNode({ body: realisticNode(name, annotations) }),
  );
}

export async function annotateNodes(
  b: BenchCluster,
  names: string[],
  annotations: Record<string, string>,
  concurrency = 32,
): Promise<void> {
  await mapLimit(names, concurrency, (name) =>
    b.c.core.patchNode({ name, body: { metadata: { annotations } } }, MERGE),
  );
}

/**
 * Events of a watch that resumes where it stopped: under load a run lasts long enough for
 * watches to end (server timeouts, dropped connections), and a simulated kubelet that stopped
 * seeing Jobs stalled a 5,000-node run. If the resourceVersion is gone (410), the watch starts
 * over and first delivers RESET: the consumer forgets what it saw, then gets every object again.
 */
function watch(
  b: BenchCluster,
  p: string,
  query: Record<string, string>,
  onEvent: (phase: string, obj: unknown) => void,
): { abort(): void } {
  let resourceVersion = '';
  let current: AbortController | undefined;
  let stopped = false;
  const start = async () => {
    const w = new Watch(b.c.kc);
    // client-node aborts a watch after 30 s without events (a private, unconfigurable field);
    // quiet stretches are the point here.
    (w as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 24 * 3600_000;
    const params = { ...query, allowWatchBookmarks: 'true', resourceVersion };
    current = await w.watch(
      p,
      params,
      (phase, obj) => {
        const rv = (obj as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
        if (phase === 'ERROR') {
          resourceVersion = '';
          onEvent('RESET', obj);
          return;
        }
        if (rv) resourceVersion = rv;
        if (phase !== 'BOOKMARK') onEvent(phase, obj);
      },
      (err: unknown) => {
        if (stopped) return;
        console.error(`bench watch ${p} ended (${err ? String(err) : 'closed'}); resuming`);
        setTimeout(() => void start().catch(restartLater), 1000);
      },
    );
  };
  const restartLater = (err: unknown) => {
    console.error(`bench watch ${p} could not start (${String(err)}); retrying`);
    if (!stopped) setTimeout(() => void start().catch(restartLater), 1000);
  };
  void start().catch(restartLater);
  return {
    abort() {
      stopped = true;
      current?.abort();
    },
  };
}

/**
 * The simulated kubelet: every installer Job that appears is completed at once through the
 * status subresources, with a successful install report as the termination message.
 */
export async function runFakeKubelet(
  b: BenchCluster,
  runtimes: string[],
  onJob?: (job: V1Job, at: number) => void,
): Promise<{ stop(): void; live(): number; completedAt: number[] }> {
  const kubelet = new FakeKubelet(b.c, { actAsJobController: true });
  const live = new Set<string>();
  /** When each Job's Complete status was written (performance.now()), in order. */
  const completedAt: number[] = [];
  let inFlight = Promise.resolve();
  const pending: V1Job[] = [];
  const drain = () =>
    (inFlight = inFlight
      .then(async () => {
        const batch = pending.splice(0);
        await mapLimit(batch, 16, async (job) => {
          const operation =
            job.metadata?.labels?.[LABELS.operation] === 'uninstall' ? 'uninstall' : 'install';
          await kubelet.finishWithReport(job, installReport(runtimes, { operation }));
          completedAt.push(performance.now());
        });
      })
      .catch((err: unknown) => console.error('fake kubelet:', err)));
  const finished = new Set<string>();
  const controller = watch(b, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`, {}, (phase, obj) => {
    const job = obj as V1Job;
    const name = job.metadata?.name ?? '';
    if (phase === 'RESET') live.clear();
    if (phase === 'DELETED') live.delete(name);
    if (phase !== 'ADDED') return;
    live.add(name);
    // A watch that started over delivers Jobs it already finished again.
    if (finished.has(job.metadata?.uid ?? '')) return;
    finished.add(job.metadata?.uid ?? '');
    onJob?.(job, performance.now());
    pending.push(job);
    void drain();
  });
  return { stop: () => controller.abort(), live: () => live.size, completedAt };
}

/** Nodes as they gain a label (with this value, if given): our status=ready, a peer's own. */
export async function watchLabelled(
  b: BenchCluster,
  key: string,
  value?: string,
): Promise<{ seen: Set<string>; stop(): void }> {
  const seen = new Set<string>();
  const controller = watch(
    b,
    '/api/v1/nodes',
    { labelSelector: value === undefined ? key : `${key}=${value}` },
    (phase, obj) => {
      const name = (obj as V1Node).metadata?.name ?? '';
      if (phase === 'RESET') seen.clear();
      else if (phase === 'ADDED' || phase === 'MODIFIED') seen.add(name);
      else if (phase === 'DELETED') seen.delete(name);
    },
  );
  return { seen, stop: () => controller.abort() };
}
