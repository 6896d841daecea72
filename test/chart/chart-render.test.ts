import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { buildRuntimeClass } from '../../src/operator/build/runtime-class.ts';
import { parseConfig } from '../../src/operator/config.ts';
import { CHART_DIR, findObject, helm, renderChart, type K8sObject } from '../support/helm.ts';
import { repoPath } from '../support/repo.ts';
import { runCommand } from '../support/run-command.ts';

// helm lint/template of charts/wasm-node-operator: what each important value renders into.
// (chart-apiserver.test.ts proves a real kube-apiserver accepts the objects.)

const HELM_BUILD_MS = 15 * 60_000;
const DIGEST = `sha256:${'ab12'.repeat(16)}`;

interface PodSpec {
  securityContext: Record<string, unknown>;
  containers: {
    image: string;
    args: string[];
    env: { name: string; value?: string }[];
    ports: { name: string; containerPort: number }[];
    livenessProbe: { httpGet: { path: string; port: string } };
    readinessProbe: { httpGet: { path: string; port: string } };
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: Record<string, unknown>;
    volumeMounts: { name: string; mountPath: string }[];
  }[];
  volumes: { name: string; configMap: { name: string } }[];
  tolerations?: unknown[];
  hostNetwork?: boolean;
  dnsPolicy?: string;
}
interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    strategy: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: PodSpec;
    };
  };
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const deployment = (objects: K8sObject[]) => findObject(objects, 'Deployment') as Deployment;
const container = (objects: K8sObject[]) => deployment(objects).spec.template.spec.containers[0]!;
const configFile = (objects: K8sObject[]) =>
  load((findObject(objects, 'ConfigMap').data as Record<string, string>)['config.yaml']!) as Record<
    string,
    unknown
  >;
const rules = (objects: K8sObject[], kind: string, name?: string) =>
  findObject(objects, kind, name).rules as Rule[];

describe('helm chart rendering', () => {
  it(
    'passes helm lint --strict',
    async () => {
      const result = await helm(['lint', '--strict', CHART_DIR]);
      expect(`${result.stdout}${result.stderr}`).toContain('0 chart(s) failed');
      expect(result.code).toBe(0);
    },
    HELM_BUILD_MS,
  );

  it(
    'renders a hardened operator Deployment with probes on the health endpoints by default',
    async () => {
      const objects = await renderChart();
      expect(objects.map((o) => o.kind).sort()).toEqual([
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'Deployment',
        'ResourceQuota',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'ServiceAccount',
      ]);
      const pod = deployment(objects).spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const c = container(objects);
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.resources.requests).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(c.image).toBe('ghcr.io/wasm-node/wasm-node-operator:0.1.0');
      // --config names the file the ConfigMap volume provides.
      const mount = c.volumeMounts.find((m) => m.name === 'config')!;
      expect(c.args).toEqual(['--config', `${mount.mountPath}/config.yaml`]);
      expect(pod.volumes).toEqual([
        { name: 'config', configMap: { name: findObject(objects, 'ConfigMap').metadata.name } },
      ]);
    },
    HELM_BUILD_MS,
  );

  it(
    'renders a config file the operator parses to its own defaults, in the release namespace',
    async () => {
      const objects = await renderChart({ namespace: 'wasm-ops' });
      const installerImage = 'ghcr.io/wasm-node/wasm-node-installer:0.1.0';
      expect(parseConfig(configFile(objects))).toEqual(
        parseConfig({ namespace: 'wasm-ops', installer: { image: installerImage } }),
      );
    },
    HELM_BUILD_MS,
  );

  it(
    'grants exactly the API access the operator code uses: no cluster-wide pod reads unless the Wasm pod warning is on, no cluster-wide writes of pods or Jobs',
    async () => {
      const objects = await renderChart();
      const runtimeClasses = {
        apiGroups: ['node.k8s.io'],
        resources: ['runtimeclasses'],
        verbs: ['list', 'create', 'patch', 'delete'],
      };
      const nodes = { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'patch'] };
      expect(rules(objects, 'ClusterRole')).toEqual([nodes, runtimeClasses]);
      const warning = await renderChart({
        values: { config: { uninstall: { warnAboutWasmPods: true } } },
      });
      expect(rules(warning, 'ClusterRole')).toEqual([
        nodes,
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        {
          apiGroups: ['node.k8s.io'],
          resources: ['runtimeclasses'],
          verbs: ['list', 'create', 'patch', 'delete'],
        },
      ]);
      expect(rules(objects, 'Role', 'wasm-node-operator')).toEqual([
        { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch', 'create', 'delete'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: ['wasm-node-operator'],
          verbs: ['get', 'update'],
        },
      ]);
      const events = findObject(objects, 'Role', 'wasm-node-operator-events');
      expect(events.metadata.namespace).toBe('default');
      expect(events.rules).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create'] }]);
      for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
        expect(binding.subjects).toEqual([
          { kind: 'ServiceAccount', name: 'wasm-node-operator', namespace: 'wasm-node-system' },
        ]);
      }
    },
    HELM_BUILD_MS,
  );

  it(
    'adds a PodDisruptionBudget and keeps leader election on when replicas > 1',
    async () => {
      const objects = await renderChart({ values: { replicas: 3 } });
      const d = deployment(objects);
      expect(d.spec.replicas).toBe(3);
      expect(d.spec.strategy.type).toBe('RollingUpdate');
      expect(configFile(objects).leaderElection).toMatchObject({ enabled: true });
      const pdb = findObject(objects, 'PodDisruptionBudget').spec as {
        minAvailable: number;
        selector: { matchLabels: Record<string, string> };
      };
      expect(pdb.minAvailable).toBe(1);
      expect(d.spec.template.metadata.labels).toMatchObject(pdb.selector.matchLabels);
      expect((await renderChart()).some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
    },
    HELM_BUILD_MS,
  );

  it(
    'refuses several replicas without leader election, and never overlaps a single unleased pod',
    async () => {
      const result = await helm(['template', 'x', CHART_DIR], {
        values: { replicas: 2, config: { leaderElection: { enabled: false } } },
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('replicas > 1 needs config.leaderElection.enabled=true');
      const single = await renderChart({
        values: { config: { leaderElection: { enabled: false } } },
      });
      expect(deployment(single).spec.strategy).toEqual({ type: 'Recreate' });
    },
    HELM_BUILD_MS,
  );

  it(
    'renders a metrics Service and a ServiceMonitor only when enabled',
    async () => {
      const objects = await renderChart({
        values: { metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } } },
      });
      const monitor = findObject(objects, 'ServiceMonitor');
      expect(monitor.metadata.labels).toMatchObject({ release: 'prom' });
      const service = findObject(objects, 'Service').spec as {
        selector: Record<string, string>;
        ports: { port: number; targetPort: string }[];
      };
      expect(deployment(objects).spec.template.metadata.labels).toMatchObject(service.selector);
      expect(service.ports).toEqual([
        { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      ]);
      expect(monitor.spec).toMatchObject({ endpoints: [{ port: 'http', path: '/metrics' }] });
    },
    HELM_BUILD_MS,
  );

  it(
    'pins both images by digest, and a new installer image rolls the operator',
    async () => {
      const plain = await renderChart();
      const pinned = await renderChart({
        values: { image: { tag: '1.2.3', digest: DIGEST }, installerImage: { digest: DIGEST } },
      });
      expect(container(pinned).image).toBe(`ghcr.io/wasm-node/wasm-node-operator:1.2.3@${DIGEST}`);
      expect(configFile(pinned).installer).toMatchObject({
        image: `ghcr.io/wasm-node/wasm-node-installer:0.1.0@${DIGEST}`,
      });
      const checksum = (o: K8sObject[]) =>
        deployment(o).spec.template.metadata.annotations['checksum/config'];
      expect(checksum(pinned)).not.toBe(checksum(plain));
    },
    HELM_BUILD_MS,
  );

  it(
    'lets Wasm pods and the operator tolerate the taint of dedicated Wasm nodes',
    async () => {
      const taint = { key: 'wasm', operator: 'Exists', effect: 'NoSchedule' };
      const objects = await renderChart({
        values: {
          tolerations: [taint],
          config: { runtimes: ['wasmtime', 'crun-wasm'], runtimeClass: { tolerations: [taint] } },
        },
      });
      expect(deployment(objects).spec.template.spec.tolerations).toEqual([taint]);
      // Through the operator's own builder: the RuntimeClass it will create carries the toleration.
      const config = parseConfig(configFile(objects));
      expect(config.runtimes).toEqual(['wasmtime', 'crun-wasm']);
      expect(buildRuntimeClass('crun-wasm', config).scheduling?.tolerations).toEqual([taint]);
    },
    HELM_BUILD_MS,
  );

  it(
    'runs on the host network with an apiserver address for clusters without a Service network',
    async () => {
      const env = [
        { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
        { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
      ];
      const objects = await renderChart({ values: { hostNetwork: true, env } });
      const pod = deployment(objects).spec.template.spec;
      expect(pod).toMatchObject({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' });
      // The old pod holds the node's port: a surge pod could never be scheduled beside it.
      expect(deployment(objects).spec.strategy).toEqual({ type: 'Recreate' });
      expect(container(objects).env).toEqual([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ...env,
      ]);
      expect(deployment(await renderChart()).spec.template.spec.hostNetwork).toBeUndefined();
    },
    HELM_BUILD_MS,
  );

  it(
    "renders a quota for the installer's PriorityClass (GKE admits system-node-critical pods only under one), unless turned off",
    async () => {
      const quota = findObject(await renderChart({ namespace: 'wasm-ops' }), 'ResourceQuota');
      expect(quota.metadata.namespace).toBe('wasm-ops');
      expect(quota.spec).toEqual({
        hard: { pods: '1G' },
        scopeSelector: {
          matchExpressions: [
            { scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] },
          ],
        },
      });
      const other = await renderChart({
        values: { config: { installer: { priorityClassName: 'wasm-installer' } } },
      });
      expect(findObject(other, 'ResourceQuota').spec).toMatchObject({
        scopeSelector: { matchExpressions: [{ values: ['wasm-installer'] }] },
      });
      const kinds = async (values: Record<string, unknown>) =>
        (await renderChart({ values })).map((o) => o.kind);
      expect(await kinds({ installerQuota: { enabled: false } })).not.toContain('ResourceQuota');
      expect(await kinds({ config: { installer: { priorityClassName: '' } } })).not.toContain(
        'ResourceQuota',
      );
    },
    HELM_BUILD_MS,
  );

  it(
    'labels a namespace it creates so the privileged installer pods are admitted',
    async () => {
      const ns = findObject(
        await renderChart({ values: { namespace: { create: true } } }),
        'Namespace',
      );
      expect(ns.metadata.name).toBe('wasm-node-system');
      expect(ns.metadata.labels).toMatchObject({
        'pod-security.kubernetes.io/enforce': 'privileged',
      });
    },
    HELM_BUILD_MS,
  );

  it.each([
    [
      'an unknown runtime',
      { config: { runtimes: ['wasmtim'] } },
      "at '/config/runtimes/0': value must be one of 'wasmtime', 'wasmedge', 'wasmer', 'spin', 'crun-wasm'",
    ],
    [
      'an empty runtime list',
      { config: { runtimes: [] } },
      "at '/config/runtimes': minItems: got 0, want 1",
    ],
    [
      'a malformed digest',
      { image: { digest: 'sha256:abc' } },
      "at '/image/digest': 'sha256:abc' does not match pattern",
    ],
    [
      'a misspelt key',
      { config: { optin: { autoProvision: true } } },
      "at '/config': additional properties 'optin' not allowed",
    ],
    [
      'a bad duration',
      { config: { rollout: { reverifyInterval: '1 hour' } } },
      "at '/config/rollout/reverifyInterval'",
    ],
    [
      'a zero install concurrency',
      { config: { rollout: { maxConcurrentInstalls: 0 } } },
      "at '/config/rollout/maxConcurrentInstalls'",
    ],
    [
      'a toleration field the operator drops',
      { config: { runtimeClass: { tolerations: [{ key: 'a', tolerationSeconds: 5 }] } } },
      "additional properties 'tolerationSeconds' not allowed",
    ],
    [
      'a quota that is not a pod count',
      { installerQuota: { pods: 'lots' } },
      "at '/installerQuota/pods'",
    ],
    [
      'an unknown log level',
      { config: { logLevel: 'verbose' } },
      "at '/config/logLevel': value must be one of 'trace'",
    ],
  ])(
    'rejects %s with a message naming the value',
    async (_what, values, message) => {
      const result = await helm(['template', 'x', CHART_DIR], { values });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(message);
    },
    HELM_BUILD_MS,
  );

  it(
    'admits the Kubernetes minors the tests run, and refuses older ones by name',
    async () => {
      const tested = await helm(['template', 'x', CHART_DIR, '--kube-version', 'v1.34.4']);
      expect(tested.code).toBe(0);
      const older = await helm(['template', 'x', CHART_DIR, '--kube-version', 'v1.33.9']);
      expect(older.code).not.toBe(0);
      expect(older.stderr).toContain('>=1.34.0-0');
    },
    HELM_BUILD_MS,
  );

  it(
    'matches the generated manifests/ (npm run manifests)',
    async () => {
      const result = await runCommand('bash', [repoPath('scripts/manifests.sh'), '--check'], {
        timeoutMs: HELM_BUILD_MS,
      });
      expect(result.stderr).not.toContain('drifted');
      expect(result.code).toBe(0);
    },
    HELM_BUILD_MS,
  );
});
