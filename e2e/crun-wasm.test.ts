import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import { splitManagedBlock } from '../src/containerd/managed-block.ts';
import { UNIFIED_CONTROLLERS } from '../src/installer/facts/node-facts.ts';
import { ANNOTATIONS, READY, runtimeLabel, steeringLabel } from '../src/operator/keys.ts';
import { nodeMachine } from '../test/support/cluster.ts';
import { buildImages } from '../test/support/images.ts';
import { repoPath } from '../test/support/repo.ts';
import { waitFor } from '../test/support/wait.ts';
import { withNextInstallerImage } from './next-installer-image.ts';
import {
  GREETING,
  clearNodeMarkers,
  installOperator,
  isRuntimeReady,
  setOptIn,
  uninstallOperator,
  waitForNodeReady,
} from './local-deploy.ts';
import type { NodeProbe } from './node-probe.ts';
import {
  SETUP_MS,
  WORKLOADS,
  isFinished,
  jobNode,
  onlyNewJob,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  type Testbed,
} from './scenario.ts';

// crun's Wasm handler through the operator on the Debian 13 node (containerd 1.7.24 as Debian
// ships it): the normal rollout installs crun-wasm from the installer image built with the
// crun-wasm bundle, the example pod runs a Wasm container under crun beside a Linux sidecar,
// and an upgrade (a new bundle) and an opt-out leave the running pod's crun in place. The machine's cgroup v2
// hierarchy, as containerd sees it, has no controllers: crun accepts it and so does the
// installer's check, which refuses the VM itself (test/containerd/crun-wasm-cri.test.ts).
const RUNTIME = 'crun-wasm';
const INSTALLER = 'localhost/wasm-node-installer';
/** scripts/images.sh installer-crun-wasm: the test shim and the crun-wasm bundle. */
const CRUN_TAG = 'crun-wasm';
/** The next release's image: its crun-wasm bundle differs (e2e/next-installer-image.ts). */
const UPGRADE_TAG = 'crun-wasm-next';
const EXAMPLE = 'examples/crun-compat-smart-pod.yaml';
const VARIANT_ANNOTATION = 'module.wasm.image/variant';
const NOT_EXECUTABLE = 'the path `/hello.wasm` exists but it is not executable';
/** A Job pod start, a containerd restart through systemd, CRI verification. */
const INSTALL_MS = 180_000;
const POD_MS = 120_000;

let t: Testbed;
let node: NodeProbe;
const scenario = scenarios(() => t);
let crunArchive = '';
/** The relocated crun the installer reported, inside its content-addressed bundle. */
let crun = '';
/** The upgrade's crun, in the next bundle's directory. */
let nextCrun = '';
let sidecarId: string | undefined;
let pod = '';

const readNode = (): Promise<V1Node> => t.d.core.readNode({ name: node.name });
const readPod = (name: string): Promise<V1Pod> =>
  t.d.core.readNamespacedPod({ name, namespace: WORKLOADS });
const ours = (n: V1Node) =>
  Object.keys({ ...n.metadata?.labels, ...n.metadata?.annotations }).some((k) =>
    k.includes('wasm-node.dev'),
  );
const bundleOf = (binary: string) => binary.replace(/\/bin\/crun$/, '');
const exists = async (path: string) => (await node.machine.exec(['test', '-e', path])).code === 0;
const status = (p: V1Pod, container: string) =>
  p.status?.containerStatuses?.find((c) => c.name === container);

/**
 * The example as a user applies it. The cluster reaches no registry: its own busybox stands in
 * for Docker Hub's, the one change; `annotated: false` drops the variant annotation.
 */
async function applyExample(opts: { name?: string; annotated: boolean }): Promise<string> {
  const example = load(readFileSync(repoPath(EXAMPLE), 'utf8')) as V1Pod;
  const annotations = { ...example.metadata?.annotations };
  if (!opts.annotated) delete annotations[VARIANT_ANNOTATION];
  const name = opts.name ?? example.metadata?.name ?? '';
  const body: V1Pod = {
    ...example,
    metadata: { ...example.metadata, name, annotations },
    spec: {
      ...example.spec,
      containers: (example.spec?.containers ?? []).map((c) =>
        c.name === 'sidecar' ? { ...c, image: 'localhost/busybox:local' } : c,
      ),
    },
  };
  await t.d.kubectl(['-n', WORKLOADS, 'apply', '-f', '-'], { input: dump(body) });
  return name;
}

/** A command in the running sidecar: CRI exec, which the runc shim hands to the pod's crun. */
const inSidecar = (command: string) =>
  t.d.kubectl(['-n', WORKLOADS, 'exec', pod, '-c', 'sidecar', '--', 'sh', '-c', command]);

async function expectPodUntouched(): Promise<void> {
  const p = await readPod(pod);
  expect(p.status?.phase).toBe('Running');
  expect(status(p, 'sidecar')).toMatchObject({ restartCount: 0, containerID: sidecarId });
  expect(await inSidecar('echo "shell $((6 * 7)) on $(uname -s)"')).toBe('shell 42 on Linux\n');
}

async function optOut(): Promise<void> {
  await setOptIn(t.d, node.name, false);
  await waitFor(`the operator to opt ${node.name} out`, async () => !ours(await readNode()), {
    timeoutMs: INSTALL_MS,
  });
}

describe('crun-wasm through the operator on a Debian 13 systemd node', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'hello']);
    const trixie = t.nodes.find((n) => n.node.spec === 'trixie');
    if (!trixie) throw new Error(`no Debian 13 node with its distribution's containerd`);
    node = trixie;
    // 170 MB: imported into this node only.
    const { 'installer-crun-wasm': image } = await buildImages(['installer-crun-wasm']);
    crunArchive = image.archive;
    await nodeMachine(t.cluster, node.node).importImages([crunArchive]);
  }, SETUP_MS);

  afterAll(async () => {
    if (t && node) {
      if (ours(await readNode())) await optOut().catch(() => undefined);
      await uninstallOperator(t.d);
      await clearNodeMarkers(t.d, node.name);
      await node.machine.exec([
        'ctr',
        '-n',
        'k8s.io',
        'images',
        'rm',
        `${INSTALLER}:${UPGRADE_TAG}`,
      ]);
    }
    await tearDownTestbed(t);
  }, 6 * 60_000);

  scenario(
    'opt-in: the rollout installs crun-wasm, the node is labelled only after the installer verified the handler, the RuntimeClass exists',
    async () => {
      // What crun will see: the v2 hierarchy in containerd's mount namespace, without controllers.
      const seen = await node.machine.sh(
        `cat "/proc/$(systemctl show -P MainPID containerd)/root${UNIFIED_CONTROLLERS}"`,
      );
      expect(seen.trim()).toBe('');
      await installOperator(t.d, { runtimes: [RUNTIME], installerTag: CRUN_TAG });
      const before = t.jobs.names();
      const pidBefore = await node.mainPid();
      const early: string[] = [];
      await setOptIn(t.d, node.name, true);
      await waitForNodeReady(t.d, node.name, {
        runtime: RUNTIME,
        timeoutMs: INSTALL_MS,
        // The node is read before the Jobs: a Job unfinished then was unfinished at the label.
        observe: (n, jobs) => {
          const labelled = n.metadata?.labels?.[runtimeLabel(RUNTIME)] === READY;
          const running = jobs.filter((j) => jobNode(j) === node.name && !isFinished(j));
          if (labelled && running.length > 0) early.push(running[0]?.metadata?.name ?? '');
        },
      });
      expect(early).toEqual([]);

      const {
        pod: installer,
        exitCode,
        report,
      } = await onlyNewJob(t, before, 'install', node.name);
      expect(installer.spec?.containers[0]?.image).toBe(`${INSTALLER}:${CRUN_TAG}`);
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({ ok: true, changed: true, restarted: true });
      expect(report.runtimes).toEqual([expect.objectContaining({ name: RUNTIME, verified: true })]);
      crun = report.runtimes[0]?.path ?? '';
      expect(crun).toMatch(/\/[0-9a-f]{16}\/bin\/crun$/);
      expect(await node.mainPid()).not.toBe(pidBefore);
      const split = splitManagedBlock((await node.config()) ?? '');
      expect(split.base).toBe(t.original.get(node.name));
      expect(split.block).toContain(VARIANT_ANNOTATION);
      expect((await node.handlers()).get(RUNTIME)).toBe('io.containerd.runc.v2');
      // The bundle's crun runs on the node with its own libraries: its Wasm handler is there.
      expect((await node.machine.exec([crun, '--version'])).stdout).toContain('+WASM:wasmedge');

      expect(await t.d.nodeApi.readRuntimeClass({ name: RUNTIME })).toMatchObject({
        handler: RUNTIME,
        scheduling: { nodeSelector: { [steeringLabel(RUNTIME)]: READY } },
      });
    },
  );

  scenario(
    'the example pod: its Wasm container prints the greeting under crun, its sidecar is an ordinary Linux process',
    async () => {
      pod = await applyExample({ annotated: true });
      const running = await waitFor(
        'the Wasm container to exit and the sidecar to run',
        async () => {
          const p = await readPod(pod);
          return status(p, 'wasm')?.state?.terminated && status(p, 'sidecar')?.state?.running && p;
        },
        { timeoutMs: POD_MS },
      );
      // The RuntimeClass put it there: the only node with crun-wasm verified.
      expect(running.spec?.nodeName).toBe(node.name);
      expect(status(running, 'wasm')?.state?.terminated).toMatchObject({ exitCode: 0 });
      expect(await t.d.kubectl(['-n', WORKLOADS, 'logs', pod, '-c', 'wasm'])).toContain(GREETING);
      sidecarId = status(running, 'sidecar')?.containerID;
      expect(sidecarId).toBeDefined();
      await expectPodUntouched();
    },
  );

  scenario(
    'the same pod without the annotation: crun takes /hello.wasm for a Linux executable, and says so in the pod’s events',
    async () => {
      const plain = await applyExample({ name: 'wasm-without-variant', annotated: false });
      const event = await waitFor(
        `crun's error in the events of ${plain}`,
        async () => {
          const { items } = await t.d.core.listNamespacedEvent({
            namespace: WORKLOADS,
            fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${plain},reason=Failed`,
          });
          return items.find((e) => e.message?.includes(NOT_EXECUTABLE));
        },
        { timeoutMs: POD_MS },
      );
      expect(event.type).toBe('Warning');
      expect(status(await readPod(plain), 'wasm')?.state?.terminated?.exitCode).not.toBe(0);
      await t.d.kubectl(['-n', WORKLOADS, 'delete', 'pod', plain, '--wait=true'], {
        timeoutMs: POD_MS,
      });
    },
  );

  scenario(
    'upgrade with the pod running: a new installer image brings a new bundle, the one the pod’s crun runs from stays, the sidecar still execs',
    async () => {
      const before = t.jobs.names();
      const installed = (await readNode()).metadata?.annotations?.[ANNOTATIONS.installedHash];
      await withNextInstallerImage(crunArchive, `${INSTALLER}:${UPGRADE_TAG}`, RUNTIME, (archive) =>
        node.machine.importImages([archive]),
      );
      await installOperator(t.d, { runtimes: [RUNTIME], installerTag: UPGRADE_TAG });
      await waitFor(
        `${node.name} to be re-installed from the new installer image`,
        async () => {
          const n = await readNode();
          const hash = n.metadata?.annotations?.[ANNOTATIONS.installedHash];
          return isRuntimeReady(n, RUNTIME) && hash !== installed;
        },
        { timeoutMs: INSTALL_MS },
      );
      const {
        pod: installer,
        exitCode,
        report,
      } = await onlyNewJob(t, before, 'install', node.name);
      expect(installer.spec?.containers[0]?.image).toBe(`${INSTALLER}:${UPGRADE_TAG}`);
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({ ok: true, changed: true, restarted: true });
      expect(report.runtimes).toEqual([expect.objectContaining({ name: RUNTIME, verified: true })]);
      nextCrun = report.runtimes[0]?.path ?? '';
      expect(bundleOf(nextCrun)).not.toBe(bundleOf(crun));
      const { block } = splitManagedBlock((await node.config()) ?? '');
      expect(block).toContain(nextCrun);
      expect(block).not.toContain(crun);
      // The config no longer names the old bundle; the live task does, so the prune kept it.
      expect(await exists(crun)).toBe(true);
      await expectPodUntouched();
    },
  );

  scenario(
    'opt-out with the pod running: the config is back byte for byte, the bundle the pod’s crun runs from stays, the pod still execs and stops',
    async () => {
      const before = t.jobs.names();
      await optOut();
      const { exitCode, report } = await onlyNewJob(t, before, 'uninstall', node.name);
      expect(exitCode).toBe(0);
      expect(report).toMatchObject({
        ok: true,
        operation: 'uninstall',
        changed: true,
        restarted: true,
      });
      expect(await node.config()).toBe(t.original.get(node.name));
      expect((await node.handlers()).has(RUNTIME)).toBe(false);
      // The runc shim runs the crun its task was created with for every exec, kill and delete:
      // that bundle stays, the upgrade's, which nothing uses, goes.
      expect(await exists(crun)).toBe(true);
      expect(await exists(bundleOf(nextCrun))).toBe(false);
      await expectPodUntouched();
      await t.d.kubectl(['-n', WORKLOADS, 'delete', 'pod', pod, '--wait=true'], {
        timeoutMs: POD_MS,
      });
    },
  );

  scenario(
    'once no pod uses it, the next opt-in prunes the old bundle and the next opt-out the new one',
    async () => {
      const before = t.jobs.names();
      await setOptIn(t.d, node.name, true);
      await waitForNodeReady(t.d, node.name, { runtime: RUNTIME, timeoutMs: INSTALL_MS });
      const { report: install } = await onlyNewJob(t, before, 'install', node.name);
      expect(install.runtimes).toEqual([expect.objectContaining({ path: nextCrun })]);
      expect(await exists(bundleOf(crun))).toBe(false);
      await optOut();
      const { report } = await onlyNewJob(t, before, 'uninstall', node.name);
      expect(report).toMatchObject({ ok: true, operation: 'uninstall', changed: true });
      expect(await node.config()).toBe(t.original.get(node.name));
      expect(await exists(bundleOf(nextCrun))).toBe(false);
    },
  );
});
