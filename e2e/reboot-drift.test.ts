import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Node } from '@kubernetes/client-node';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import { ObjectRecorder } from '../test/support/object-recorder.ts';
import { ANNOTATIONS } from '../src/operator/keys.ts';
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
  newJobs,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  terminatedInstaller,
  type Testbed,
} from './scenario.ts';

// Drift after a reboot: like EKS nodeadm or GKE, the node rewrites its containerd config at
// every boot, so a reboot silently drops the Wasm runtimes while the node keeps its ready
// labels. The operator notices the new boot (the installer's report carries the boot_id it
// verified, the Node's status.nodeInfo.bootID changes) and re-verifies at once, which repairs
// the config. The labels stay meanwhile: most reboots change nothing, and withdrawing them
// would make a DaemonSet that selects them delete its pods on the node at every reboot.

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

const nodeReady = (n: V1Node) =>
  n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

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
    'a node whose config is rewritten at boot is re-verified and repaired once it is back, its labels kept',
    async () => {
      await installOperator(t.d, { maxConcurrentInstalls: 1 });
      await setOptIn(t.d, node.name, true);
      await waitForNodeReady(t.d, node.name, { timeoutMs: 180_000 });
      const bootBefore = await node.machine.bootId();
      const verified = await t.d.core.readNode({ name: node.name });
      expect(verified.metadata?.annotations?.[ANNOTATIONS.bootId]).toBe(bootBefore);
      // Every change of the Node, in order, from a watch: a label withdrawal cannot be missed.
      const seen: { bootId?: string; labelled: boolean }[] = [];
      const recorder = await ObjectRecorder.start<V1Node>(
        loadKubeConfig(t.cluster.kubeconfig),
        '/api/v1/nodes',
        `kubernetes.io/hostname=${node.name}`,
        (_, n) =>
          seen.push({
            bootId: n.status?.nodeInfo?.bootID,
            labelled: n.metadata?.labels?.[READY_LABEL] !== undefined,
          }),
      );
      try {
        const before = t.jobs.names();
        await node.machine.reboot();
        const bootId = await node.machine.bootId();
        expect(bootId).not.toBe(bootBefore);
        expect(splitManagedBlock((await node.config()) ?? '').block).toBeUndefined();
        expect((await node.handlers()).has(RUNTIME)).toBe(false);

        const readyAfterReboot = await waitFor(
          `${node.name} Ready with its new boot_id`,
          async () => {
            const n = await t.d.core.readNode({ name: node.name });
            return n.status?.nodeInfo?.bootID === bootId && nodeReady(n) && Date.now();
          },
          { timeoutMs: 120_000 },
        );
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
        const seconds = (Date.now() - readyAfterReboot) / 1000;
        process.stderr.write(
          `${node.name}: repaired and recorded ${seconds.toFixed(1)} s after Ready-after-reboot\n`,
        );

        expect(seen.some((s) => s.bootId === bootId)).toBe(true);
        expect(seen.filter((s) => !s.labelled)).toEqual([]);
        const jobs = newJobs(t, before, 'install', node.name);
        expect(jobs).toHaveLength(1);
        const { report } = await terminatedInstaller(t, jobs[0]!);
        expect(report).toMatchObject({ ok: true, changed: true, restarted: true, bootId });
        expect(repaired.metadata?.annotations?.[ANNOTATIONS.verifiedBy]).toBe(
          jobs[0]!.metadata?.uid,
        );
        expect(splitManagedBlock((await node.config()) ?? '').base).toBe(t.original.get(node.name));
      } finally {
        recorder.stop();
      }
    },
  );
});
