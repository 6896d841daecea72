// Proves the in-house wasmtime shim (e2e/shim) runs a real WASI image under containerd 1.6:
// the binary the installer tests install and the e2e cluster uses.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { vmContainerdConfig } from '../support/containerd-vm-config.ts';
import type { CommandResult } from '../support/run-command.ts';
import {
  WASM_FIXTURE_TIMEOUT_MS,
  WASM_HELLO_GREETING,
  WASM_HELLO_IMAGE,
  wasmHelloArchive,
  wasmShimPath,
} from '../support/wasm-fixtures.ts';

function describeFailure(what: string, r: CommandResult, daemon: ContainerdDaemon): string {
  return (
    `${what}: exit ${r.code}, signal ${r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\n` +
    `containerd log (${daemon.logPath}, shim logs included):\n${daemon.logTail(60)}`
  );
}

describe('containerd-shim-wasmtime-v1 under containerd 1.6', () => {
  let shim = '';
  let daemon: ContainerdDaemon | undefined;

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error('this test starts containerd and containers: run it as root');
    shim = await wasmShimPath();
    const archive = await wasmHelloArchive();
    daemon = await startContainerd({
      // debug level makes containerd copy the shim's own log lines into its log
      logLevel: 'debug',
      config: (paths) =>
        vmContainerdConfig(paths) +
        `
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.wasmtime]
  runtime_type = "io.containerd.wasmtime.v1"
  runtime_path = "${shim}"
`,
      // runtime_path serves CRI only; ctr --runtime resolves the binary on containerd's PATH.
      pathPrepend: [dirname(shim)],
    });
    const imported = await daemon.ctr(['images', 'import', archive], { namespace: 'k8s.io' });
    if (imported.code !== 0)
      throw new Error(describeFailure(`ctr images import ${archive}`, imported, daemon));
  }, WASM_FIXTURE_TIMEOUT_MS);

  afterAll(async () => {
    await daemon?.stop();
  }, 60_000);

  test('the shim matches the sha256 file written next to it', () => {
    const recorded = readFileSync(`${shim}.sha256`, 'utf8').trim().split(/\s+/);
    const actual = createHash('sha256').update(readFileSync(shim)).digest('hex');
    expect(recorded).toEqual([actual, basename(shim)]);
  });

  test('ctr runs the WASI hello image with runtime io.containerd.wasmtime.v1: greeting on stdout, exit 0', async () => {
    if (!daemon) throw new Error('containerd did not start');
    // unique per run: the shim keeps per-container state under /run/containerd/wasmtime
    const id = `wasm-hello-${process.pid}-${Date.now()}`;
    const run = await daemon.ctr(
      ['run', '--rm', '--runtime', 'io.containerd.wasmtime.v1', WASM_HELLO_IMAGE, id],
      {
        namespace: 'k8s.io',
        timeoutMs: 120_000,
      },
    );
    if (run.code !== 0 || !run.stdout.includes(WASM_HELLO_GREETING)) {
      throw new Error(describeFailure(`ctr run ${id}`, run, daemon));
    }
    expect(run.stdout.trim()).toBe(WASM_HELLO_GREETING);
    expect(run.code).toBe(0);
  }, 180_000);
});
