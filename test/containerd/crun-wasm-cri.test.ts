// crun-wasm as it reaches a node, proven end to end: the installer CLI installs the crun-wasm
// bundle (crun 1.21 with its WasmEdge handler and every library it needs, from Debian trixie)
// into a supervised containerd 1.6, relocating it to its content-addressed directory and
// writing the runtime entry; then a pod through CRI (crictl as the kubelet) runs the hello
// module under the runc shim driving that crun. crun's handler runs a .wasm entrypoint only
// when the OCI spec carries the module.wasm.image/variant annotation; pods carry it, and
// containerd copies a pod annotation into the spec only if the entry's pod_annotations allows it.
// On this VM rather than a systemd machine: the refusal below needs a hybrid host whose v2
// hierarchy has controllers (hugetlb here), which no machine shows (its cgroup namespace
// delegates none), and the supervised containerd runs the others in a mount namespace without
// that hierarchy (containerdWithoutCgroup2). The same install through the operator on a Debian
// 13 machine, pods and an opt-out with a pod running included, is e2e/crun-wasm.test.ts.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { SHIMS_MANIFEST_SCHEMA } from '../../src/formats/shims-manifest.ts';
import { CriPods, type CriEndpoint } from '../support/cri-pods.ts';
import { runInstaller } from '../support/installer-cli.ts';
import { runCommand } from '../support/run-command.ts';
import {
  nodeConfig,
  startSupervisedNode,
  type SupervisedNode,
} from '../support/supervised-node.ts';
import {
  WASM_FIXTURE_TIMEOUT_MS,
  WASM_HELLO_GREETING,
  crunWasmBundle,
} from '../support/wasm-fixtures.ts';

// This VM type has hugetlb in its v2 hierarchy; a CI machine of another kind may not.
const HYBRID_CONTROLLERS = existsSync('/sys/fs/cgroup/unified/cgroup.controllers')
  ? readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim()
  : '';

const VARIANT = { 'module.wasm.image/variant': 'compat-smart' };
const NOT_EXECUTABLE = 'the path `/hello.wasm` exists but it is not executable';

/**
 * crun refuses a "hybrid" cgroup host whose v2 hierarchy has controllers (these VMs have
 * hugetlb there): "cgroups in hybrid mode not supported". The node's containerd (and so its
 * shims and crun) runs in a private mount namespace without that hierarchy; runc and the
 * kubelet use only the v1 hierarchies on such hosts anyway.
 */
function containerdWithoutCgroup2(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, 'containerd');
  writeFileSync(
    wrapper,
    `#!/bin/sh
exec unshare -m --propagation private sh -c \\
  'if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then umount /sys/fs/cgroup/unified; fi
   exec containerd "$@"' containerd "$@"
`,
  );
  chmodSync(wrapper, 0o755);
  return dir;
}

describe('crun-wasm installed by the installer on containerd 1.6, run through CRI', () => {
  let pods: CriPods | undefined;
  let shimsDir = '';
  let node: SupervisedNode | undefined;

  beforeAll(async () => {
    const bundle = await crunWasmBundle();
    pods = await CriPods.prepare();
    // The installer image's shims dir, with the bundle as the image build lays it out.
    shimsDir = join(pods.work, 'shims');
    mkdirSync(shimsDir);
    symlinkSync(join(bundle, 'crun-wasm'), join(shimsDir, 'crun-wasm'));
    writeFileSync(
      join(shimsDir, 'manifest.json'),
      JSON.stringify({
        schema: SHIMS_MANIFEST_SCHEMA,
        runtimes: [JSON.parse(readFileSync(join(bundle, 'manifest-entry.json'), 'utf8'))],
      }),
    );
  }, WASM_FIXTURE_TIMEOUT_MS);
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  }, 60_000);
  afterAll(() => pods?.remove());

  async function startNode(hideCgroup2: boolean) {
    node = await startSupervisedNode({
      containerdBin: hideCgroup2
        ? containerdWithoutCgroup2(join(pods!.work, 'containerd-bin'))
        : undefined,
      config: (dir) =>
        nodeConfig(dir).replace(
          'disable_apparmor = true',
          'disable_apparmor = true\n  sandbox_image = "localhost/pause:local"',
        ),
    });
    return node;
  }

  const install = (n: SupervisedNode) =>
    runInstaller(n, ['install', '--runtimes', 'crun-wasm'], {
      shimsDir,
      terminationLog: join(n.dir, 'termination-log'),
    });

  /** A node with crun-wasm installed; `edit` changes the config afterwards, as an admin might. */
  async function installed(edit?: (config: string) => string) {
    const cri = pods!;
    const run = await install(await startNode(true));
    expect(run.report).toMatchObject({ ok: true, changed: true, restarted: true });
    const [runtime] = run.report.runtimes;
    expect(runtime).toMatchObject({ name: 'crun-wasm', verified: true });
    if (edit) {
      writeFileSync(node!.configPath, edit(readFileSync(node!.configPath, 'utf8')));
      await runCommand(node!.restartCommand, [], { timeoutMs: 60_000 });
    }
    const d: CriEndpoint = { address: node!.socket, logTail: node!.logTail };
    await cri.importImages(d);
    return { d, cri, crun: runtime!.path as string };
  }

  test('the installed, relocated crun has its Wasm handler; a compat-smart pod runs the module, a plain one cannot', async () => {
    const { d, cri, crun } = await installed();
    expect(crun).toMatch(new RegExp(`^${node!.binDir}/[0-9a-f]{16}/bin/crun$`));
    expect((await runCommand(crun, ['--version'])).stdout).toContain('+WASM:wasmedge');
    expect(await cri.runHello(d, 'crun-wasm', cri.podSpec(VARIANT))).toEqual({
      exitCode: 0,
      log: WASM_HELLO_GREETING,
    });
    // Without the handler crun treats the module as a Linux executable, and it is not one.
    expect(await cri.helloStartError(d, 'crun-wasm', cri.podSpec())).toContain(NOT_EXECUTABLE);
  }, 240_000);

  test('without pod_annotations in the entry, containerd drops the annotation and the module cannot run', async () => {
    const { d, cri } = await installed((config) => {
      const stripped = config.replace(/^\s*pod_annotations = .*\n/m, '');
      expect(stripped).not.toBe(config);
      return stripped;
    });
    expect(await cri.helloStartError(d, 'crun-wasm', cri.podSpec(VARIANT))).toContain(
      NOT_EXECUTABLE,
    );
  }, 240_000);

  test('a running crun-wasm pod keeps its crun through an uninstall and its prune: it can still be exec’d and stopped', async () => {
    const { d, cri, crun } = await installed();
    const bundle = crun.replace(/\/bin\/crun$/, '');
    const { sandbox, container } = await cri.startSleeper(d, 'crun-wasm', cri.podSpec(VARIANT));
    // The runc shim runs the bundle's crun for every exec, kill and delete of this task.
    const removed = await runInstaller(node!, ['uninstall'], {
      shimsDir,
      terminationLog: join(node!.dir, 'termination-log-uninstall'),
    });
    expect(removed.report).toMatchObject({ ok: true, changed: true, restarted: true });
    expect(existsSync(crun)).toBe(true);
    expect(await cri.ok(d, ['exec', container, 'echo', 'still here'])).toBe('still here');
    await cri.ok(d, ['stop', container]);
    await cri.ok(d, ['rm', container]);
    await cri.ok(d, ['stopp', sandbox]);
    await cri.ok(d, ['rmp', sandbox]);
    // Once no task uses it, the next run's prune takes the bundle away.
    const again = await runInstaller(node!, ['uninstall'], {
      shimsDir,
      terminationLog: join(node!.dir, 'termination-log-again'),
    });
    expect(again.report.ok).toBe(true);
    expect(existsSync(bundle)).toBe(false);
  }, 240_000);

  (HYBRID_CONTROLLERS ? test : test.skip)(
    'on a hybrid cgroup host with v2 controllers, crun-wasm is refused before the node changes',
    async () => {
      const n = await startNode(false);
      const before = readFileSync(n.configPath, 'utf8');
      const run = await install(n);
      expect(run.code).not.toBe(0);
      expect(run.report).toMatchObject({ ok: false, changed: false, restarted: false });
      expect(run.report.error).toMatchObject({ code: 'cgroups-unsupported' });
      expect(run.report.error?.message).toContain(`has controllers (${HYBRID_CONTROLLERS})`);
      expect(readFileSync(n.configPath, 'utf8')).toBe(before);
      expect(existsSync(n.binDir)).toBe(false);
    },
    120_000,
  );
});
