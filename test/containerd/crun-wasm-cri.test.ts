// The crun-wasm runtime as the patcher writes it, proven end to end: containerd 1.6's CRI
// plugin, the runc shim driving crun through options.BinaryName, and crun's WasmEdge handler,
// which runs a container's .wasm entrypoint only when the OCI spec carries the annotation
// module.wasm.image/variant. Pods carry it; containerd copies a pod annotation into the spec
// only if the runtime's pod_annotations allows it, which is the line peers forget.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRuntimes } from '../../src/catalog/runtimes.ts';
import { addRuntimes } from '../../src/containerd/patch-config.ts';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { CriPods, criConfig } from '../support/cri-pods.ts';
import {
  WASM_FIXTURE_TIMEOUT_MS,
  WASM_HELLO_GREETING,
  crunWasmPath,
} from '../support/wasm-fixtures.ts';

const VARIANT = { 'module.wasm.image/variant': 'compat-smart' };
const NOT_EXECUTABLE = 'the path `/hello.wasm` exists but it is not executable';

/**
 * crun refuses a "hybrid" cgroup host whose v2 hierarchy has controllers (these VMs have
 * hugetlb there): "cgroups in hybrid mode not supported". This wrapper, which the config names
 * as the BinaryName, hides that hierarchy from crun alone, in a private mount namespace; the
 * kubelet and runc keep using the v1 hierarchies crun then uses too.
 */
function hybridCgroupWrapper(dir: string, crun: string): string {
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, 'crun');
  writeFileSync(
    wrapper,
    `#!/bin/sh
if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers; then
  exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"' '${crun}' "$@"
fi
exec '${crun}' "$@"
`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

describe('crun-wasm on containerd 1.6 through CRI (crun 1.21 + WasmEdge 0.14 from Debian trixie)', () => {
  let pods: CriPods | undefined;
  let crun = '';
  let daemon: ContainerdDaemon | undefined;

  beforeAll(async () => {
    const real = await crunWasmPath();
    pods = await CriPods.prepare();
    crun = hybridCgroupWrapper(join(pods.work, 'crun-bin'), real);
  }, WASM_FIXTURE_TIMEOUT_MS);
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  }, 60_000);
  afterAll(() => pods?.remove());

  /** Starts containerd on the patcher's crun-wasm entry, optionally edited first. */
  async function start(edit: (entry: string) => string = (e) => e) {
    const base = criConfig();
    daemon = await startContainerd({
      logLevel: 'debug',
      config: (paths) =>
        edit(
          addRuntimes(base(paths), {
            runtimes: [{ runtime: resolveRuntimes(['crun-wasm'])[0]!, binaryPath: crun }],
          }).text,
        ),
    });
    await pods!.importImages(daemon);
    return { d: daemon, cri: pods! };
  }

  test('a pod annotated compat-smart runs the Wasm entrypoint; without the annotation it cannot', async () => {
    const { d, cri } = await start();
    expect(await cri.runHello(d, 'crun-wasm', cri.podSpec(VARIANT))).toEqual({
      exitCode: 0,
      log: WASM_HELLO_GREETING,
    });
    // Without the handler crun treats the module as a Linux executable, and it is not one.
    expect(await cri.helloStartError(d, 'crun-wasm', cri.podSpec())).toContain(NOT_EXECUTABLE);
  }, 180_000);

  test('without pod_annotations in the runtime entry, containerd drops the annotation and the module cannot run', async () => {
    const { d, cri } = await start((text) => {
      const stripped = text.replace(/^\s*pod_annotations = .*\n/m, '');
      expect(stripped).not.toBe(text);
      return stripped;
    });
    expect(await cri.helloStartError(d, 'crun-wasm', cri.podSpec(VARIANT))).toContain(
      NOT_EXECUTABLE,
    );
  }, 180_000);
});
