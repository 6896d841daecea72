import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { clientNodePort } from '../../src/kube/client-node-port.ts';
import { parseConfig, type Config } from '../../src/operator/config.ts';
import { buildInstallerJob } from '../../src/operator/build/installer-job.ts';
import { buildRuntimeClass } from '../../src/operator/build/runtime-class.ts';
import { FIELD_MANAGER } from '../../src/operator/keys.ts';
import { run } from '../support/run-command.ts';
import { startControlPlane, type ControlPlane } from '../support/control-plane.ts';
import { CHART_DIR, helm } from '../support/helm.ts';
import { repoPath } from '../support/repo.ts';
import { kubectlPath } from '../support/tools.ts';
import { waitFor } from '../support/wait.ts';

// The chart against a real kube-apiserver: every rendered object is admitted, the plain manifests
// apply, Pod Security admits the installer pod the operator builds, and the RBAC the chart grants
// is exactly enough for the operator's own API calls.

const TOOL_BUILD_MS = 30 * 60_000;
const TEST_MS = 120_000;

/** Just enough of the Prometheus Operator CRD for the apiserver to admit a ServiceMonitor. */
const SERVICE_MONITOR_CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: servicemonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;

let cp: ControlPlane;
let kubectl: string;
let admin: KubeConfig;
let core: CoreV1Api;

const k = (args: string[], input?: string) =>
  run(kubectl, ['--kubeconfig', cp.kubeconfigPath, ...args], { input, timeoutMs: 60_000 });

/** A namespace with the `default` ServiceAccount (no controller-manager here to create it). */
async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await core.createNamespacedServiceAccount({
    namespace: name,
    body: { metadata: { name: 'default' } },
  });
}

async function configOfRelease(ns: string, configMap: string): Promise<Config> {
  const cm = await core.readNamespacedConfigMap({ namespace: ns, name: configMap });
  return parseConfig(load(cm.data?.['config.yaml'] ?? ''));
}

function installerJob(config: Config, node = 'node-a') {
  return buildInstallerJob(
    {
      nodeName: node,
      nodeUid: '00000000-0000-0000-0000-000000000001',
      operation: 'install',
      runtimes: config.runtimes,
      hash: 'h',
      attempt: 0,
      verifiedBy: '',
    },
    config,
  );
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    return (
      (err as { status?: number; code?: number }).status ?? (err as { code?: number }).code ?? -1
    );
  }
}

beforeAll(async () => {
  kubectl = await kubectlPath();
  cp = await startControlPlane();
  admin = new KubeConfig();
  admin.loadFromFile(cp.kubeconfigPath);
  core = admin.makeApiClient(CoreV1Api);
}, TOOL_BUILD_MS);
afterAll(() => cp?.stop());

describe('the chart on a real kube-apiserver', () => {
  it(
    'has every object of a default and a non-default render admitted (server-side dry run)',
    async () => {
      await namespace('wasm-node-system');
      await namespace('wasm-ops');
      await k(['apply', '-f', '-'], SERVICE_MONITOR_CRD);
      await k([
        'wait',
        '--for=condition=Established',
        '--timeout=30s',
        'crd/servicemonitors.monitoring.coreos.com',
      ]);

      const defaults = await helm(['template', 'wasm-node-operator', CHART_DIR]);
      const custom = await helm(['template', 'ops', CHART_DIR], {
        namespace: 'wasm-ops',
        values: {
          replicas: 2,
          namespace: { create: true },
          image: { digest: `sha256:${'0f'.repeat(32)}` },
          hostNetwork: true,
          env: [{ name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }],
          tolerations: [{ key: 'wasm', operator: 'Exists', effect: 'NoSchedule' }],
          metrics: { serviceMonitor: { enabled: true } },
          config: {
            runtimes: ['wasmtime', 'wasmedge', 'crun-wasm'],
            runtimeClass: { overhead: { memory: '16Mi' } },
          },
        },
      });
      for (const render of [defaults, custom]) {
        expect(render.code).toBe(0);
        const out = await k(['apply', '--dry-run=server', '-f', '-'], render.stdout);
        expect(out).not.toMatch(/error/i);
      }
      expect(await k(['apply', '--dry-run=server', '-f', '-'], custom.stdout)).toMatch(
        /poddisruptionbudget.policy\/ops-wasm-node-operator (created|configured) \(server dry run\)[\s\S]*servicemonitor.monitoring.coreos.com\/ops-wasm-node-operator/,
      );
    },
    TEST_MS,
  );

  it(
    'applies manifests/install.yaml, whose namespace admits the privileged, system-node-critical installer pod, also where critical pods need a quota (GKE)',
    async () => {
      const install = await readFile(repoPath('manifests/install.yaml'), 'utf8');
      // The manifests create wasm-node-system themselves; a fresh control plane has no such
      // namespace. It admits critical-priority pods only under a quota, as GKE's apiservers do.
      const fresh = await startControlPlane({ limitCriticalPods: true });
      try {
        const out = await run(kubectl, ['--kubeconfig', fresh.kubeconfigPath, 'apply', '-f', '-'], {
          input: install,
        });
        expect(out).toContain('namespace/wasm-node-system created');
        expect(out).toContain('deployment.apps/wasm-node-operator created');
        const kc = new KubeConfig();
        kc.loadFromFile(fresh.kubeconfigPath);
        const freshCore = kc.makeApiClient(CoreV1Api);
        const ns = await freshCore.readNamespace({ name: 'wasm-node-system' });
        expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');

        await freshCore.createNamespacedServiceAccount({
          namespace: 'wasm-node-system',
          body: { metadata: { name: 'default' } },
        });
        const cm = await freshCore.readNamespacedConfigMap({
          namespace: 'wasm-node-system',
          name: 'wasm-node-operator',
        });
        const job = installerJob(parseConfig(load(cm.data?.['config.yaml'] ?? '')));
        const pod: V1Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'installer-probe' },
          spec: job.spec!.template.spec!,
        };
        await freshCore.createNamespacedPod({
          namespace: 'wasm-node-system',
          body: pod,
          dryRun: 'All',
        });

        // The chart's quota is what admits it there: without one the same pod is refused.
        await freshCore.createNamespace({
          body: {
            metadata: {
              name: 'no-quota',
              labels: { 'pod-security.kubernetes.io/enforce': 'privileged' },
            },
          },
        });
        await freshCore.createNamespacedServiceAccount({
          namespace: 'no-quota',
          body: { metadata: { name: 'default' } },
        });
        await expect(
          freshCore.createNamespacedPod({ namespace: 'no-quota', body: pod, dryRun: 'All' }),
        ).rejects.toThrow(/insufficient quota to match these scopes.*PriorityClass/);

        // The label is what admits it: the same pod under the baseline level is refused.
        await freshCore.createNamespace({
          body: {
            metadata: {
              name: 'strict',
              labels: { 'pod-security.kubernetes.io/enforce': 'baseline' },
            },
          },
        });
        await freshCore.createNamespacedServiceAccount({
          namespace: 'strict',
          body: { metadata: { name: 'default' } },
        });
        await expect(
          freshCore.createNamespacedPod({ namespace: 'strict', body: pod, dryRun: 'All' }),
        ).rejects.toThrow(
          /violates PodSecurity.{1,8}baseline:latest.*hostPID=true.*hostPath volumes.*privileged/,
        );
      } finally {
        await fresh.stop();
      }
    },
    TOOL_BUILD_MS,
  );

  it(
    'refuses to install into a namespace whose Pod Security level rejects the installer',
    async () => {
      await namespace('wasm-baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' });
      const result = await helm(['install', 'refused', CHART_DIR], {
        namespace: 'wasm-baseline',
        kubeconfig: cp.kubeconfigPath,
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(
        'namespace wasm-baseline enforces Pod Security level "baseline", which rejects the privileged installer pods; run: kubectl label namespace wasm-baseline pod-security.kubernetes.io/enforce=privileged --overwrite',
      );
    },
    TEST_MS,
  );

  it(
    'grants enough for every API call the operator makes, and refuses what it does not make',
    async () => {
      const ns = 'wasm-rbac';
      await namespace(ns, { 'pod-security.kubernetes.io/enforce': 'privileged' });
      const installed = await helm(['install', 'rbac', CHART_DIR], {
        namespace: ns,
        kubeconfig: cp.kubeconfigPath,
      });
      expect(installed.stderr).toBe('');
      expect(installed.stdout).toContain('kubectl annotate node <NODE> wasm-node=true');

      // The operator's identity: a token of the chart's ServiceAccount, against the same server.
      const token = (await k(['create', 'token', 'rbac-wasm-node-operator', '-n', ns])).trim();
      const cluster = admin.getCurrentCluster()!;
      const sa = new KubeConfig();
      sa.loadFromOptions({
        clusters: [cluster],
        users: [{ name: 'operator', token }],
        contexts: [{ name: 'operator', cluster: cluster.name, user: 'operator' }],
        currentContext: 'operator',
      });
      const config = await configOfRelease(ns, 'rbac-wasm-node-operator');
      const kube = clientNodePort(sa, {
        fieldManager: FIELD_MANAGER,
        reportingInstance: 'rbac-test',
        requestTimeoutMs: config.requestTimeout,
      });
      expect(config.namespace).toBe(ns);

      // What the informers do: list + watch nodes cluster-wide, Jobs in the release namespace.
      for (const [verb, resource, where] of [
        ['list', 'nodes', []],
        ['watch', 'nodes', []],
        ['list', 'jobs.batch', ['-n', ns]],
        ['watch', 'jobs.batch', ['-n', ns]],
      ] as const) {
        expect(await k(['auth', 'can-i', verb, resource, ...where, '--token', token])).toBe(
          'yes\n',
        );
      }

      // Every KubePort call, for real.
      const node = await core.createNode({ body: { metadata: { name: 'node-a' } } });
      await kube.patchNodeMetadata('node-a', { labels: { 'wasm-node.dev/status': 'installing' } });
      const job = installerJob(config);
      job.metadata!.ownerReferences![0]!.uid = node.metadata!.uid!;
      await kube.createJob(job);
      expect(
        await kube.listJobPods(ns, {
          uid: 'x',
          labelSelector: `wasm-node.dev/job=${job.metadata!.name}`,
        }),
      ).toEqual([]);
      await kube.deleteJob(ns, job.metadata!.name!);
      await kube.createEvent({
        namespace: config.events.namespace,
        involved: { apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: node.metadata!.uid! },
        type: 'Normal',
        reason: 'RbacProbe',
        message: 'created with the chart RBAC',
      });
      await kube.applyRuntimeClass(buildRuntimeClass('wasmtime', config)); // creates it
      await kube.applyRuntimeClass(buildRuntimeClass('wasmtime', config)); // updates it
      expect(
        (await kube.listRuntimeClasses('app.kubernetes.io/managed-by=wasm-node-operator')).map(
          (r) => r.metadata?.name,
        ),
      ).toEqual(['wasmtime']);
      await kube.deleteRuntimeClass('wasmtime');
      const leaseName = config.leaderElection.leaseName;
      const lease = await kube.createLease({
        metadata: { name: leaseName, namespace: ns },
        spec: { holderIdentity: 'rbac-test' },
      });
      expect((await kube.getLease(ns, leaseName))?.spec?.holderIdentity).toBe('rbac-test');
      await kube.replaceLease({ ...lease, spec: { holderIdentity: 'rbac-test-2' } });

      // And nothing beyond: no Jobs elsewhere, no pod writes, no secrets, no other leases.
      const batch = sa.makeApiClient(BatchV1Api);
      const saCore = sa.makeApiClient(CoreV1Api);
      expect(
        await status(
          batch.createNamespacedJob({
            namespace: 'default',
            body: { ...job, metadata: { ...job.metadata, namespace: 'default' } },
          }),
        ),
      ).toBe(403);
      expect(
        await status(
          saCore.createNamespacedPod({
            namespace: ns,
            body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
          }),
        ),
      ).toBe(403);
      // Every pod in the cluster only with config.uninstall.warnAboutWasmPods (off by default).
      expect(await status(kube.listPodsOnNode('node-a'))).toBe(403);
      expect(await status(saCore.listSecretForAllNamespaces())).toBe(403);
      expect(await status(saCore.listNamespacedSecret({ namespace: ns }))).toBe(403);
      expect(await status(saCore.deleteNode({ name: 'node-a' }))).toBe(403);
      expect(await status(kube.getLease(ns, 'someone-elses-lease'))).toBe(403);
      expect(
        await status(
          saCore.createNamespacedEvent({
            namespace: ns,
            body: { metadata: { name: 'e' }, involvedObject: {} },
          }),
        ),
      ).toBe(403);

      // The Deployment itself was admitted and points at the ConfigMap the config came from.
      await waitFor(
        'the Deployment',
        () => k(['get', 'deployment', 'rbac-wasm-node-operator', '-n', ns, '-o', 'name']),
        { timeoutMs: 10_000 },
      );
    },
    TEST_MS,
  );
});
