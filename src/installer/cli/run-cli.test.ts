import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCli } from './run-cli.ts';

const SAMPLES = fileURLToPath(
  new URL('../../../test/fixtures/containerd-samples/', import.meta.url),
);
const BIN = fileURLToPath(new URL('../../../bin/wasm-node-installer.js', import.meta.url));

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    readFile: (p) => readFile(p, 'utf8'),
  });
  return { code, stdout, stderr };
}

describe('wasm-node-installer config', () => {
  it('add prints the patched config with runtime_path under --bin-dir', async () => {
    const r = await cli(
      'config',
      'add',
      '--runtimes',
      'wasmtime,crun-wasm',
      '--bin-dir',
      '/srv/wasm/',
      `${SAMPLES}kind-node-v2header-containerd2.3.toml`,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('runtime_path = "/srv/wasm/containerd-shim-wasmtime-v1"');
    expect(r.stdout).toContain('BinaryName = "/srv/wasm/crun"');
  });

  it('add defaults the bin dir to /opt/wasm-node/bin', async () => {
    const r = await cli(
      'config',
      'add',
      '--runtimes',
      'spin',
      `${SAMPLES}containerd-default-1.7.toml`,
    );
    expect(r.stdout).toContain('runtime_path = "/opt/wasm-node/bin/containerd-shim-spin-v2"');
  });

  it('remove prints the file without our block, byte for byte', async () => {
    const file = `${SAMPLES}minikube-kicbase.toml`;
    const added = await cli('config', 'add', '--runtimes', 'wasmtime', file);
    const { writeFile, mkdtemp } = await import('node:fs/promises');
    const tmp = `${await mkdtemp('/tmp/cli-test-')}/config.toml`;
    await writeFile(tmp, added.stdout);
    const removed = await cli('config', 'remove', tmp);
    expect(removed.stdout).toBe(await readFile(file, 'utf8'));
  });

  it.each([
    [
      ['config', 'add', '--runtimes', 'wasmtime', `${SAMPLES}rke2-config-v3.toml.tmpl`],
      1,
      /^error: .*rke2-config-v3\.toml\.tmpl: not valid TOML: .*\[invalid-toml\]\n$/,
    ],
    [
      ['config', 'add', '--runtimes', 'nope', `${SAMPLES}containerd-default-1.7.toml`],
      1,
      /^error: unknown runtime "nope"; known runtimes: wasmtime, wasmedge, wasmer, spin, crun-wasm\n$/,
    ],
    [
      ['config', 'add', '--runtimes', 'wasmtime', '/does/not/exist.toml'],
      1,
      /^error: ENOENT: no such file or directory, open '\/does\/not\/exist\.toml'\n$/,
    ],
    [
      ['config', 'add', `${SAMPLES}containerd-default-1.7.toml`],
      2,
      /^config add needs --runtimes, e\.g\. --runtimes wasmtime,spin\n$/,
    ],
    [
      [
        'config',
        'add',
        '--runtimes',
        'wasmtime',
        '--bin-dir',
        'rel',
        `${SAMPLES}containerd-default-1.7.toml`,
      ],
      2,
      /^--bin-dir must be an absolute path, not "rel"\n$/,
    ],
    [['config', 'add', '--frobnicate', 'x'], 2, /^Unknown option '--frobnicate'.*for usage\n$/],
  ])('bad input %j: one line on stderr, nothing on stdout, exit %i', async (argv, code, stderr) => {
    const r = await cli(...argv);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(stderr);
  });

  it('the installed bin entry runs on Node 24 from the sources', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      'config',
      'add',
      '--runtimes',
      'wasmtime',
      `${SAMPLES}containerd-default-2.0.7.toml`,
    ]);
    expect(stdout).toContain(
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.wasmtime]',
    );
  });
});
