import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { loadKubeConfig } from './kube.ts';
import { processesReferencing } from './host-processes.ts';
import { kubernetesBinDir } from './tools.ts';
import { waitFor } from './wait.ts';

function clients(cp: ControlPlane): { core: CoreV1Api; batch: BatchV1Api } {
  const kc = loadKubeConfig(cp.kubeconfigPath);
  return { core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
}

describe('startControlPlane', () => {
  const started: ControlPlane[] = [];
  const start = async (opts?: { controllerManager?: boolean }): Promise<ControlPlane> => {
    const cp = await startControlPlane(opts);
    started.push(cp);
    return cp;
  };

  // With a cold cache this builds Kubernetes from the Go module proxy first.
  beforeAll(() => kubernetesBinDir(), 60 * 60_000);
  afterEach(async () => {
    await Promise.all(started.splice(0).map((cp) => cp.stop()));
  });

  it('serves the API and keeps objects across an apiserver restart', async () => {
    const cp = await start();
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    const { core } = clients(cp);
    await core.createNode({ body: { metadata: { name: 'node-a', labels: { zone: 'test' } } } });
    await cp.restartApiserver();
    const node = await core.readNode({ name: 'node-a' });
    expect(node.metadata?.labels).toEqual({ zone: 'test' });
  }, 60_000);

  it('stop() kills every process by PID and removes the work dir', async () => {
    const cp = await start();
    expect((await processesReferencing(cp.workDir)).length).toBeGreaterThanOrEqual(2);
    await cp.stop();
    expect(await processesReferencing(cp.workDir)).toEqual([]);
    expect(existsSync(cp.workDir)).toBe(false);
  }, 60_000);

  it('runs independent instances side by side', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.server).not.toEqual(b.server);
    await clients(a).core.createNode({ body: { metadata: { name: 'only-in-a' } } });
    const inB = await clients(b).core.listNode();
    expect(inB.items.map((n) => n.metadata?.name)).not.toContain('only-in-a');
  }, 60_000);

  it('runs the Job controller when asked for the controller manager', async () => {
    const cp = await start({ controllerManager: true });
    const { core, batch } = clients(cp);
    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'probe' },
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'main', image: 'localhost/busybox:local' }],
            },
          },
        },
      },
    });
    // No kubelet here: the pod stays Pending, but the Job controller must have created it.
    const pods = await waitFor(
      'the Job controller to create a pod',
      async () => {
        const list = await core.listNamespacedPod({
          namespace: 'default',
          labelSelector: 'job-name=probe',
        });
        return list.items.length > 0 && list.items;
      },
      { timeoutMs: 30_000 },
    );
    expect(pods[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('Job');
  }, 60_000);
});
