import { describe, expect, it } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import path from 'node:path';
import { loadKubeConfig } from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';
import { installReport } from './support/fake-kubelet.ts';
import { useOperatorTestbed } from './support/operator-testbed.ts';
import { createNode, readNode, waitForActiveJob, waitForNode } from './support/test-cluster.ts';

const bed = useOperatorTestbed();
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const READABLE = 'runtime.wasm-node.dev/wasmtime';
const STEERING = 'runtime.wasm-node.dev.node-restriction.kubernetes.io/wasmtime';
/** The node the control plane's PKI made a kubelet client certificate for (e2e/cluster/pki.sh). */
const KUBELET_NODE = 'control-plane';

/** The kubelet's own identity: O=system:nodes, CN=system:node:control-plane, signed by the CA. */
function asKubelet(): CoreV1Api {
  return loadKubeConfig(path.join(bed.c.cp.workDir, 'pki', 'kubelet.kubeconfig')).makeApiClient(
    CoreV1Api,
  );
}

async function selfLabel(labels: Record<string, string>): Promise<number> {
  try {
    await asKubelet().patchNode({ name: KUBELET_NODE, body: { metadata: { labels } } }, MERGE);
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('workloads are steered by labels a kubelet cannot set (NodeRestriction)', () => {
  it('a kubelet can set the readable ready label on its own Node, not the label the RuntimeClass selects; the operator gives it only after the installer verified the node', async () => {
    await createNode(bed.c, KUBELET_NODE, { annotations: { 'wasm-node': 'true' } });
    // The node's own identity may label itself, except under node-restriction.kubernetes.io/.
    expect(await selfLabel({ [READABLE]: 'ready' })).toBe(200);
    expect(await selfLabel({ [STEERING]: 'ready' })).toBe(403);

    await bed.startOperator();
    const rc = await waitFor(
      'the wasmtime RuntimeClass',
      async () =>
        (await bed.c.nodeApi.listRuntimeClass()).items.find((r) => r.metadata?.name === 'wasmtime'),
      { timeoutMs: 20_000 },
    );
    expect(rc.scheduling?.nodeSelector).toEqual({ [STEERING]: 'ready' });
    // The self-set label got the node nothing: it is installed like any other.
    expect((await readNode(bed.c, KUBELET_NODE)).metadata?.labels?.[STEERING]).toBeUndefined();
    const job = await waitForActiveJob(bed.c, KUBELET_NODE);
    await bed.kubelet.finishWithReport(job, installReport(['wasmtime', 'spin']));
    const node = await waitForNode(
      bed.c,
      KUBELET_NODE,
      'steering label',
      (n) => n.metadata?.labels?.[STEERING] === 'ready',
    );
    expect(node.metadata?.labels?.[READABLE]).toBe('ready');
    // Nor can the kubelet take it away again.
    expect(await selfLabel({ [STEERING]: null as unknown as string })).toBe(403);
  }, 60_000);

  it('an upgrade re-verifies nodes labelled the old way before they steer workloads, and the RuntimeClass keeps the old selector until then', async () => {
    const v1 = await bed.startOperator({ installer: { image: 'installer:mig' } });
    await createNode(bed.c, 'old-0', { annotations: { 'wasm-node': 'true' } });
    const first = await waitForActiveJob(bed.c, 'old-0');
    await bed.kubelet.finishWithReport(first, installReport(['wasmtime', 'spin']));
    const installed = await waitForNode(
      bed.c,
      'old-0',
      'ready',
      (n) => n.metadata?.labels?.[STEERING] === 'ready',
    );
    await v1.stop();
    // What a node installed by the previous release looks like: readable labels only, and a
    // RuntimeClass selecting them.
    const old = Object.fromEntries(
      Object.keys(installed.metadata!.labels!)
        .filter((k) => k.includes('.node-restriction.kubernetes.io/'))
        .map((k) => [k, null]),
    );
    await bed.c.core.patchNode({ name: 'old-0', body: { metadata: { labels: old } } }, MERGE);
    for (const name of ['wasmtime', 'spin'])
      await bed.c.nodeApi.patchRuntimeClass(
        {
          name,
          body: { scheduling: { nodeSelector: { [`runtime.wasm-node.dev/${name}`]: 'ready' } } },
        },
        MERGE,
      );

    await bed.startOperator({ installer: { image: 'installer:mig' } });
    const reverify = await waitForActiveJob(bed.c, 'old-0');
    const held = await bed.c.nodeApi.readRuntimeClass({ name: 'wasmtime' });
    expect(held.scheduling?.nodeSelector).toEqual({ [READABLE]: 'ready' });
    await bed.kubelet.finishWithReport(reverify, installReport(['wasmtime', 'spin']));
    await waitForNode(
      bed.c,
      'old-0',
      'steering label',
      (n) => n.metadata?.labels?.[STEERING] === 'ready',
    );
    await waitFor(
      'the RuntimeClass to select the steering label',
      async () =>
        (await bed.c.nodeApi.readRuntimeClass({ name: 'wasmtime' })).scheduling?.nodeSelector?.[
          STEERING
        ] === 'ready',
      { timeoutMs: 20_000 },
    );
  }, 90_000);
});
