import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import { ObjectRecorder } from '../test/support/object-recorder.ts';
import { ANNOTATIONS, LABELS, STATUS, steeringLabel } from '../src/operator/keys.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  READY_LABEL,
  RUNTIME,
  clearNodeMarkers,
  installOperator,
  isReady,
  setOptIn,
  uninstallOperator,
  waitForNodeReady,
} from './local-deploy.ts';
import { CONTAINERD_CONFIG, type NodeProbe } from './node-probe.ts';
import {
  SETUP_MS,
  onlyNewJob,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  type Testbed,
} from './scenario.ts';

// Drift after a reboot: like EKS nodeadm or GKE, the node rewrites its containerd config at
// every boot, so a reboot silently drops the Wasm runtimes. The operator notices the new boot
// (the installer's report carries the boot_id it verified, the Node's status.nodeInfo.bootID
// changes), withdraws the node's ready labels (they promise "verified on this boot", ADR 0107)
// and re-verifies at once, which repairs the config and gives the labels back.

const UNIT = 'regenerate-containerd-config.service';
const UNIT_TEXT = `[Unit]
Description=Write /etc/containerd/config.toml at boot, as EKS nodeadm or GKE do
DefaultDependencies=no
Before=containerd.service
[Service]
Type=oneshot
ExecStart=/bin/cp ${CONTAINERD_CONFIG}.at-boot ${CONTAINERD_CONFIG}
[Install]
WantedBy=multi-user.target
`;

let t: Testbed;
const scenario = scenarios(() => t);
let node: NodeProbe;

/** What the test follows of the Node, as the watch delivered it (`at`: when). */
interface NodeSeen {
  at: number;
  bootId: string | undefined;
  ready: boolean;
  verifiedBoot: string | undefined;
  status: string | undefined;
  /** Both runtime labels ready and the status ready. */
  labelled: boolean;
  /** Neither runtime label, nor provisioned. */
  unlabelled: boolean;
}

function nodeSeen(n: V1Node): NodeSeen {
  const labels = n.metadata?.labels ?? {};
  const runtimeLabels = [READY_LABEL, steeringLabel(RUNTIME)];
  return {
    at: Date.now(),
    bootId: n.status?.nodeInfo?.bootID,
    ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
    verifiedBoot: n.metadata?.annotations?.[ANNOTATIONS.bootId],
    status: labels[LABELS.status],
    labelled: isReady(n) && labels[steeringLabel(RUNTIME)] === 'ready',
    unlabelled: [...runtimeLabels, LABELS.provisioned].every((k) => labels[k] === undefined),
  };
}

describe('drift after a reboot', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'installer']);
    node = t.nodes[0] as NodeProbe;
    await node.machine.sh(
      `cp ${CONTAINERD_CONFIG} ${CONTAINERD_CONFIG}.at-boot && cat > /etc/systemd/system/${UNIT} && systemctl enable -q ${UNIT}`,
      { input: UNIT_TEXT },
    );
  }, SETUP_MS);

  afterAll(async () => {
    if (t) {
      await node.machine.sh(`systemctl disable -q ${UNIT}; rm -f /etc/systemd/system/${UNIT}`);
      await setOptIn(t.d, node.name, false);
      await waitFor(
        `${node.name} to be back as the cluster made it`,
        async () => (await node.config()) === t.original.get(node.name),
        { timeoutMs: 180_000 },
      ).catch(() => undefined);
      await node.machine.sh(`rm -f ${CONTAINERD_CONFIG}.at-boot`);
      await uninstallOperator(t.d);
      await clearNodeMarkers(t.d, node.name);
    }
    await tearDownTestbed(t);
  }, 6 * 60_000);

  scenario(
    'a node whose config is rewritten at boot loses its ready labels once the operator sees the new boot, and is repaired and re-labelled',
    async () => {
      await installOperator(t.d, { maxConcurrentInstalls: 1 });
      await setOptIn(t.d, node.name, true);
      await waitForNodeReady(t.d, node.name, { timeoutMs: 180_000 });
      const bootBefore = await node.machine.bootId();
      const verified = await t.d.core.readNode({ name: node.name });
      expect(verified.metadata?.annotations?.[ANNOTATIONS.bootId]).toBe(bootBefore);
      // Every change of the Node, in order, from a watch: a withdrawal cannot be missed.
      const seen: NodeSeen[] = [];
      const recorder = await ObjectRecorder.start<V1Node>(
        loadKubeConfig(t.cluster.kubeconfig),
        '/api/v1/nodes',
        `kubernetes.io/hostname=${node.name}`,
        (_, n) => seen.push(nodeSeen(n)),
      );
      try {
        const before = t.jobs.names();
        await node.machine.reboot();
        const bootId = await node.machine.bootId();
        expect(bootId).not.toBe(bootBefore);
        expect(splitManagedBlock((await node.config()) ?? '').block).toBeUndefined();
        expect((await node.handlers()).has(RUNTIME)).toBe(false);

        // The hourly re-verification is not due: only the new boot id can bring this run.
        const repaired = await waitFor(
          `${node.name} re-verified in its new boot, its runtime back`,
          async () => {
            const n = await t.d.core.readNode({ name: node.name });
            return (
              n.metadata?.annotations?.[ANNOTATIONS.bootId] === bootId &&
              isReady(n) &&
              (await node.handlers()).has(RUNTIME) &&
              n
            );
          },
          { timeoutMs: 180_000 },
        );
        await waitFor(
          'the watch to deliver the re-labelling',
          async () => seen.some((s) => s.verifiedBoot === bootId && s.labelled),
          { timeoutMs: 30_000 },
        );

        // In the watch's order: labelled in the new boot until the operator withdraws them in
        // the write that says reverifying, unlabelled until the re-verification of this boot.
        const ready = seen.findIndex((s) => s.bootId === bootId && s.ready);
        const withdrawn = seen.findIndex((s) => s.bootId === bootId && s.unlabelled);
        const relabelled = seen.findIndex((s) => s.verifiedBoot === bootId && s.labelled);
        expect(ready).toBeGreaterThanOrEqual(0);
        expect(seen[withdrawn]).toMatchObject({ status: STATUS.reverifying, unlabelled: true });
        expect(relabelled).toBeGreaterThan(withdrawn);
        expect(seen.slice(withdrawn, relabelled).filter((s) => !s.unlabelled)).toEqual([]);
        const after = (i: number) => ((seen[i]!.at - seen[ready]!.at) / 1000).toFixed(1);
        process.stderr.write(
          `${node.name}: ready labels withdrawn ${after(withdrawn)} s and back ${after(relabelled)} s after Ready-after-reboot\n`,
        );

        const { job, report } = await onlyNewJob(t, before, 'install', node.name);
        expect(report).toMatchObject({ ok: true, changed: true, restarted: true, bootId });
        expect(repaired.metadata?.annotations?.[ANNOTATIONS.verifiedBy]).toBe(job.metadata?.uid);
        expect(splitManagedBlock((await node.config()) ?? '').base).toBe(t.original.get(node.name));
      } finally {
        recorder.stop();
      }
    },
  );
});
