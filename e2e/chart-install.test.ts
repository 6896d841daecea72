import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ensureCluster, type ClusterInfo } from '../test/support/cluster.ts';
import { CHART_DIR, helm } from '../test/support/helm.ts';
import { kubectlFor, loadKubeConfig, type Kubectl } from '../test/support/kube.ts';
import { freePorts } from '../test/support/ports.ts';
import { waitFor } from '../test/support/wait.ts';
import { buildImages, connect } from './local-deploy.ts';

// `helm install` of the chart into the real local cluster, with the offline operator image:
// the operator pod must become Ready under the chart's security settings and RBAC. Reuses a
// healthy cluster and leaves it running, like the other e2e tests.
//
// The operator runs as a standby (its Lease is held by someone else), so it never reconciles:
// other e2e tests may be provisioning the same node, and two leaders would fight over it.
const NAMESPACE = `chart-e2e-${Date.now().toString(36)}`;
const RELEASE = 'chart-e2e';
const LEASE = 'chart-e2e-standby';
const SETUP_MS = 60 * 60_000;

let cluster: ClusterInfo;
let core: CoreV1Api;
let kubectl: Kubectl;
let healthPort: number;

async function diagnostics(): Promise<string> {
  const describe = await kubectl(['describe', 'pods', '-n', NAMESPACE]).catch(
    (e: Error) => e.message,
  );
  const logs = await kubectl([
    'logs',
    '-n',
    NAMESPACE,
    '-l',
    'app.kubernetes.io/name=wasm-node-operator',
    '--tail=30',
  ]).catch((e: Error) => e.message);
  return `${describe}\n--- operator logs ---\n${logs}`;
}

beforeAll(async () => {
  cluster = await ensureCluster();
  const kc = loadKubeConfig(cluster.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  kubectl = kubectlFor(cluster.kubectl, cluster.kubeconfig);

  // The scheduler may place the operator on any node.
  await buildImages(connect(cluster, { progress: true }), ['operator']);

  // Helm needs the namespace before the release; labelled as docs/user-guide.md says.
  await core.createNamespace({
    body: {
      metadata: { name: NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
    },
  });
  await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
    namespace: NAMESPACE,
    body: {
      metadata: { name: LEASE },
      // The elector times a foreign lease from when it first sees it: no renewTime needed.
      spec: { holderIdentity: 'another-operator', leaseDurationSeconds: 3600 },
    },
  });
  [healthPort] = (await freePorts(1)) as [number];
}, SETUP_MS);

afterAll(async () => {
  if (!core) return;
  // helm uninstall also removes the cluster-scoped RBAC, which the namespace deletion would not.
  const uninstalled = await helm(['uninstall', RELEASE, '--wait'], {
    namespace: NAMESPACE,
    kubeconfig: cluster.kubeconfig,
  });
  await core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
  expect(uninstalled.stderr).toBe('');
}, 120_000);

describe('helm install into the local cluster', () => {
  it(
    'runs the operator pod to Ready with the chart defaults for security and RBAC',
    async () => {
      const apiserver = new URL(cluster.server);
      const installed = await helm(['install', RELEASE, CHART_DIR], {
        namespace: NAMESPACE,
        kubeconfig: cluster.kubeconfig,
        values: {
          image: { repository: 'localhost/wasm-node-operator', tag: 'e2e', pullPolicy: 'Never' },
          installerImage: { repository: 'localhost/wasm-node-installer', tag: 'e2e' },
          // The local cluster has no kube-proxy: the pod reaches the apiserver on the host bridge.
          hostNetwork: true,
          env: [
            { name: 'KUBERNETES_SERVICE_HOST', value: apiserver.hostname },
            { name: 'KUBERNETES_SERVICE_PORT', value: apiserver.port },
          ],
          config: {
            runtimes: ['wasmtime'],
            server: { port: healthPort },
            leaderElection: { leaseName: LEASE },
            installer: { imagePullPolicy: 'Never' },
          },
        },
      });
      expect(installed.stderr).toBe('');
      expect(installed.stdout).toContain('kubectl annotate node <NODE> wasm-node=true');

      const apps = loadKubeConfig(cluster.kubeconfig).makeApiClient(AppsV1Api);
      const name = `${RELEASE}-wasm-node-operator`;
      await waitFor(
        'the operator Deployment to be available',
        async () =>
          (await apps.readNamespacedDeployment({ name, namespace: NAMESPACE })).status
            ?.availableReplicas === 1,
        { timeoutMs: 120_000, intervalMs: 1000, diagnostics },
      );

      const pods = await core.listNamespacedPod({
        namespace: NAMESPACE,
        labelSelector: 'app.kubernetes.io/name=wasm-node-operator',
      });
      expect(pods.items).toHaveLength(1);
      const pod = pods.items[0] as V1Pod;
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);

      // On the host network its health port is its node's: the caches synced through RBAC...
      const operator = `http://${pod.status?.hostIP}:${healthPort}`;
      const ready = await fetch(`${operator}/readyz`);
      expect(ready.status).toBe(200);
      // ...and it stands by: not the leader, the lease untouched.
      const metrics = await (await fetch(`${operator}/metrics`)).text();
      expect(metrics).toMatch(/^wasm_node_operator_leader 0$/m);
      const lease = await loadKubeConfig(cluster.kubeconfig)
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: LEASE, namespace: NAMESPACE });
      expect(lease.spec?.holderIdentity).toBe('another-operator');
    },
    5 * 60_000,
  );
});
