import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { ensureCluster, type ClusterInfo } from '../../test/support/cluster.ts';
import { kubectlFor, loadKubeConfig, type Kubectl } from '../../test/support/kube.ts';
import { waitFor } from '../../test/support/wait.ts';

// Reuses a healthy cluster (e.g. from `npm run cluster:up`) and leaves it running for the other
// e2e tests; e2e/cluster/teardown.test.ts checks cluster:down.
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

  it('has a Ready node on containerd 1.6', async () => {
    // Polled: another e2e test may just have restarted containerd, which the node status
    // reflects for a few seconds (not Ready, runtime version unknown).
    const node = await waitFor(
      `node ${cluster.nodeName} Ready on containerd 1.6`,
      async () => {
        const n = await core.readNode({ name: cluster.nodeName });
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        const runtime = n.status?.nodeInfo?.containerRuntimeVersion ?? '';
        return ready && /^containerd:\/\/1\.6\./.test(runtime) && n;
      },
      { timeoutMs: 60_000 },
    );
    expect(node.status?.nodeInfo?.kubeletVersion).toMatch(/^v1\.3[1-7]\./);
  }, 70_000);

  it('runs a privileged hostPID pod that sees the host through a hostPath mount of /', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'host-access' },
        spec: {
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
                'cat /host/etc/os-release; tr "\\0" " " < /proc/1/cmdline',
              ],
              securityContext: { privileged: true },
              volumeMounts: [{ name: 'host', mountPath: '/host' }],
            },
          ],
          volumes: [{ name: 'host', hostPath: { path: '/' } }],
        },
      },
    });
    const pod = await waitFor(
      'pod host-access to finish',
      async () => {
        const p = await readPod('host-access');
        return ['Succeeded', 'Failed'].includes(p.status?.phase ?? '') && p;
      },
      {
        timeoutMs: 90_000,
        diagnostics: () => kubectl(['-n', namespace, 'describe', 'pod', 'host-access']),
      },
    );
    expect(pod.status?.phase).toBe('Succeeded');

    const logs = await kubectl(['-n', namespace, 'logs', 'host-access']);
    expect(logs).toContain(readFileSync('/etc/os-release', 'utf8').split('\n')[0]);
    // hostPID: the pod's PID 1 is the host's init, not the pause process.
    const hostInit = readFileSync('/proc/1/cmdline', 'utf8').replaceAll('\0', ' ').trim();
    expect(logs).toContain(hostInit);
  }, 120_000);

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
