import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { waitFor } from '../test/support/wait.ts';
import {
  GREETING,
  clearNodeMarkers,
  helloPod,
  installOperator,
  setOptIn,
  uninstallOperator,
  waitForNodeReady,
} from './local-deploy.ts';
import {
  SETUP_MS,
  WORKLOADS,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  type Testbed,
} from './scenario.ts';

// A dedicated Wasm node, the Krustlet-style set-up of the product brief: one node tainted so
// that ordinary pods stay off it, opted in; the chart puts the toleration into the RuntimeClass,
// so Wasm pods go there, and only there.
const TAINT = { key: 'wasm-node.dev/dedicated', value: 'wasm', effect: 'NoSchedule' };
const PODS = 3;

let t: Testbed;
const scenario = scenarios(() => t);
let dedicated: string;

function linuxPod(name: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'main',
          image: 'localhost/busybox:local',
          imagePullPolicy: 'Never',
          command: ['true'],
        },
      ],
    },
  };
}

/** Creates the pods and waits until each has a node; returns the nodes they landed on. */
async function placed(pods: V1Pod[]): Promise<string[]> {
  for (const body of pods) await t.d.core.createNamespacedPod({ namespace: WORKLOADS, body });
  return Promise.all(
    pods.map((p) =>
      waitFor(
        `pod ${p.metadata?.name} to be scheduled`,
        async () =>
          (await t.d.core.readNamespacedPod({ name: p.metadata?.name ?? '', namespace: WORKLOADS }))
            .spec?.nodeName,
        { timeoutMs: 60_000 },
      ),
    ),
  );
}

async function setTaint(node: string, on: boolean): Promise<void> {
  await t.d.kubectl([
    'taint',
    'node',
    node,
    `${TAINT.key}=${TAINT.value}:${TAINT.effect}${on ? '' : '-'}`,
  ]);
}

describe('a dedicated Wasm node', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'installer', 'hello']);
    dedicated = t.nodes[1]?.name ?? '';
  }, SETUP_MS);

  afterAll(async () => {
    if (t) {
      await setOptIn(t.d, dedicated, false);
      await waitFor(
        `the operator to uninstall ${dedicated}`,
        async () =>
          !Object.keys((await t.d.core.readNode({ name: dedicated })).metadata?.labels ?? {}).some(
            (k) => k.includes('wasm-node.dev'),
          ),
        { timeoutMs: 180_000 },
      ).catch(() => undefined);
      await uninstallOperator(t.d);
      await clearNodeMarkers(t.d, dedicated);
      await setTaint(dedicated, false).catch(() => undefined);
    }
    await tearDownTestbed(t);
  }, 6 * 60_000);

  scenario(
    'Wasm pods land on the tainted Wasm node through the RuntimeClass toleration; ordinary pods never do',
    async () => {
      await setTaint(dedicated, true);
      await installOperator(t.d, {
        runtimeClassTolerations: [{ key: TAINT.key, operator: 'Exists', effect: TAINT.effect }],
      });
      await setOptIn(t.d, dedicated, true);
      await waitForNodeReady(t.d, dedicated, { timeoutMs: 180_000 });
      const runtimeClass = await t.d.nodeApi.readRuntimeClass({ name: 'wasmtime' });
      expect(runtimeClass.scheduling?.tolerations).toContainEqual(
        expect.objectContaining({ key: TAINT.key }),
      );

      const wasm = Array.from({ length: PODS }, (_, i) => helloPod(`dedicated-hello-${i}`));
      expect(await placed(wasm)).toEqual(Array(PODS).fill(dedicated));
      const linux = Array.from({ length: PODS * 2 }, (_, i) => linuxPod(`dedicated-linux-${i}`));
      expect((await placed(linux)).filter((n) => n === dedicated)).toEqual([]);

      const [first] = wasm;
      await waitFor(
        'a Wasm pod on the dedicated node to finish',
        async () =>
          (
            await t.d.core.readNamespacedPod({
              name: first?.metadata?.name ?? '',
              namespace: WORKLOADS,
            })
          ).status?.phase === 'Succeeded',
        { timeoutMs: 120_000 },
      );
      expect(await t.d.kubectl(['-n', WORKLOADS, 'logs', first?.metadata?.name ?? ''])).toContain(
        GREETING,
      );
    },
  );
});
