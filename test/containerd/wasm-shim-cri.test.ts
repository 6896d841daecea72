// The kubelet's path to the shim: a pod with runtime handler "wasmtime" through containerd
// 1.6's CRI plugin. The sandbox (pause, an ELF) runs natively under the shim (youki), the Wasm
// container under wasmtime. crictl stands in for the kubelet; host network avoids CNI.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { dirname } from 'node:path';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { CriPods, criConfig } from '../support/cri-pods.ts';
import {
  WASM_FIXTURE_TIMEOUT_MS,
  WASM_HELLO_GREETING,
  wasmShimPath,
} from '../support/wasm-fixtures.ts';

/** Config with the wasmtime handler; `runtimePath` adds CRI's runtime_path for the shim. */
function config(shim: string, runtimePath: boolean) {
  return criConfig(`
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasmtime]
  runtime_type = "io.containerd.wasmtime.v1"
${runtimePath ? `  runtime_path = "${shim}"\n` : ''}`);
}

describe('a CRI pod with runtime handler wasmtime on containerd 1.6', () => {
  let shim = '';
  let pods: CriPods | undefined;
  let daemon: ContainerdDaemon | undefined;

  beforeAll(async () => {
    shim = await wasmShimPath();
    pods = await CriPods.prepare();
  }, WASM_FIXTURE_TIMEOUT_MS);

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  }, 60_000);
  afterAll(() => pods?.remove());

  async function start(opts: { shimOnPath: boolean; runtimePath: boolean }) {
    daemon = await startContainerd({
      logLevel: 'debug',
      config: config(shim, opts.runtimePath),
      pathPrepend: opts.shimOnPath ? [dirname(shim)] : [],
    });
    await pods!.importImages(daemon);
    return { d: daemon, cri: pods! };
  }

  test('runs the hello module: sandbox up, greeting in the container log, exit code 0', async () => {
    const { d, cri } = await start({ shimOnPath: true, runtimePath: false });
    expect(await cri.runHello(d, 'wasmtime', cri.podSpec())).toEqual({
      exitCode: 0,
      log: WASM_HELLO_GREETING,
    });
  }, 180_000);

  // Characterises containerd 1.6.20 for the installer: its client drops CRI's runtime_path
  // before the task request (containerd#8207; fixed in 1.7 by #8208, the 1.6 backport #8454
  // was never merged), so on 1.6 nodes the shim must be found by name, on containerd's PATH.
  test('ignores runtime_path on 1.6: a shim that is only at runtime_path is "not installed"', async () => {
    const { d, cri } = await start({ shimOnPath: false, runtimePath: true });
    const r = await cri.crictl(d, ['runp', '--runtime', 'wasmtime', cri.podSpec()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'runtime \\"io.containerd.wasmtime.v1\\" binary not installed \\"containerd-shim-wasmtime-v1\\"',
    );
  }, 120_000);
});
