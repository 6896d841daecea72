import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ensureCluster, nodeMachine, type ClusterInfo } from '../../test/support/cluster.ts';
import { kubectlFor, loadKubeConfig, type Kubectl } from '../../test/support/kube.ts';
import { waitFor } from '../../test/support/wait.ts';

// Reuses a healthy cluster (e.g. from `npm run cluster:up`) and leaves it running for the other
// e2e tests; e2e/cluster/teardown.test.ts checks cluster:down. Every node is a systemd machine
// (e2e/machines) with its distribution's containerd.

/** What each default node must report: its spec -> containerd and OS. */
const EXPECTED: Record<string, { runtime: RegExp; os: RegExp }> = {
  bookworm: { runtime: /^containerd:\/\/1\.6\.20$/, os: /^Debian GNU\/Linux 12 / },
  trixie: { runtime: /^containerd:\/\/1\.7\.24$/, os: /^Debian GNU\/Linux 13 / },
  'trixie:v2.4.2': { runtime: /^containerd:\/\/2\.4\.2$/, os: /^Debian GNU\/Linux 13 / },
};
describe('local cluster', () => {
  let cluster: ClusterInfo;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let kubectl: Kubectl;
  // A namespace per run keeps reruns against a reused cluster independent.
  const namespace = `smoke-${Date.now().toString(36)}`;

  beforeAll(async () => {
    cluster = await ensureCluster();
    const kc = loadKubeConfig(cluster.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    batch = kc.makeApiClient(BatchV1Api);
    kubectl = kubectlFor(cluster.kubectl, cluster.kubeconfig);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor(
      `the default service account in ${namespace}`,
      () => core.readNamespacedServiceAccount({ name: 'default', namespace }),
      { timeoutMs: 30_000 },
    );
  }, 60 * 60_000);

  afterAll(async () => {
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  const readPod = async (name: string): Promise<V1Pod> =>
    core.readNamespacedPod({ name, namespace });

  it('has every node Ready with the containerd and OS of its machine', async () => {
    expect(cluster.nodes.map((n) => n.spec)).toEqual(Object.keys(EXPECTED));
    for (const { name, spec } of cluster.nodes) {
      // Polled: another e2e test may just have restarted containerd, which the node status
      // reflects for a few seconds (not Ready, runtime version unknown).
      const node = await waitFor(
        `node ${name} Ready`,
        async () => {
          const n = await core.readNode({ name });
          const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
          return ready && (n.status?.nodeInfo?.containerRuntimeVersion ?? '') !== '' && n;
        },
        { timeoutMs: 60_000 },
      );
      expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(
        EXPECTED[spec]?.runtime ?? /^$/,
      );
      expect(node.status?.nodeInfo?.osImage).toMatch(EXPECTED[spec]?.os ?? /^$/);
      expect(node.status?.nodeInfo?.kubeletVersion).toMatch(/^v1\.3[1-7]\./);
    }
  }, 200_000);

  it('runs a privileged hostPID pod on every node that sees its machine: systemd as /sbin/init, its os-release', async () => {
    for (const { name } of cluster.nodes) {
      const pod = `host-access-${name}`;
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: pod },
          spec: {
            nodeSelector: { 'kubernetes.io/hostname': name },
            restartPolicy: 'Never',
            hostPID: true,
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'main',
                image: 'localhost/busybox:local',
                imagePullPolicy: 'Never',
                command: [
                  '/bin/sh',
                  '-c',
                  'head -1 /host/etc/os-release; tr "\\0" " " < /proc/1/cmdline',
                ],
                securityContext: { privileged: true },
                volumeMounts: [{ name: 'host', mountPath: '/host' }],
              },
            ],
            volumes: [{ name: 'host', hostPath: { path: '/' } }],
          },
        },
      });
      const done = await waitFor(
        `pod ${pod} to finish`,
        async () => {
          const p = await readPod(pod);
          return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') && p;
        },
        {
          timeoutMs: 90_000,
          diagnostics: () => kubectl(['-n', namespace, 'describe', 'pod', pod]),
        },
      );
      expect(done.status?.phase).toBe('Succeeded');
      const machine = nodeMachine(cluster, name);
      const logs = await kubectl(['-n', namespace, 'logs', pod]);
      expect(logs).toContain((await machine.sh('head -1 /etc/os-release')).trim());
      // hostPID: the pod's PID 1 is the node's init, systemd started as /sbin/init.
      expect(logs.trim().split('\n').at(-1)?.trim()).toBe('/sbin/init');
    }
  }, 300_000);

  it('completes a Job placed by the scheduler, and kubectl logs reads it', async () => {
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'hello' },
        spec: {
          completions: 2,
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'main',
                  image: 'localhost/busybox:local',
                  imagePullPolicy: 'Never',
                  command: ['/bin/sh', '-c', 'echo "job-ok on $(hostname)"'],
                },
              ],
            },
          },
        },
      },
    });
    await kubectl(
      ['-n', namespace, 'wait', '--for=condition=Complete', 'job/hello', '--timeout=120s'],
      {
        timeoutMs: 130_000,
      },
    ).catch(async (error: Error) => {
      const describe = await kubectl(['-n', namespace, 'describe', 'job/hello']).catch(() => '');
      throw new Error(`${error.message}\n${describe}`);
    });
    const job = await batch.readNamespacedJob({ name: 'hello', namespace });
    expect(job.status?.succeeded).toBe(2);
    expect(await kubectl(['-n', namespace, 'logs', 'job/hello'])).toContain('job-ok on hello-');
  }, 150_000);
});
