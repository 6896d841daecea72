// The images users run, built from the Dockerfile (scripts/images.sh), run as real containers:
// imported into a containerd and started with ctr and runc, with what the image config says
// (user, entrypoint, environment) and the chart's read-only root filesystem.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { vmContainerdConfig } from '../support/containerd-vm-config.ts';
import {
  IMAGE_BUILD_TIMEOUT_MS,
  buildImages,
  imageConfig,
  type BuiltImage,
  type OciConfig,
} from '../support/images.ts';
import { repoPath } from '../support/repo.ts';
import type { CommandResult } from '../support/run-command.ts';

const VERSION = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string })
  .version;
const SHIMS = '/opt/wasm-node/shims';
/** Prints which of the paths exist, from inside the image (with the image's own Node). */
const existing = (paths: string[]) =>
  `console.log(${JSON.stringify(paths)}.filter((p) => require('node:fs').existsSync(p)).join(' '))`;
/** Prints, per manifest entry, whether the shipped binary hashes to the manifest's sha256. */
const CHECK_SHIMS = `const fs = require('node:fs'), c = require('node:crypto');
const m = JSON.parse(fs.readFileSync('${SHIMS}/manifest.json', 'utf8'));
for (const r of m.runtimes) {
  const got = c.createHash('sha256').update(fs.readFileSync('${SHIMS}/' + r.binary)).digest('hex');
  console.log(r.name, r.version, got === r.sha256 ? 'matches' : 'differs');
}`;

let images: Record<'operator' | 'installer' | 'installer-corrupt', BuiltImage>;
let daemon: ContainerdDaemon;
let runs = 0;

beforeAll(async () => {
  images = await buildImages(['operator', 'installer', 'installer-corrupt']);
  daemon = await startContainerd({ config: vmContainerdConfig });
  for (const image of Object.values(images)) {
    const r = await daemon.ctr(['images', 'import', image.archive], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`ctr images import ${image.archive}: ${r.stderr}`);
  }
}, IMAGE_BUILD_TIMEOUT_MS);
afterAll(() => daemon?.stop(), 60_000);

/** ctr run --rm on the host network: the image's user, env and working dir; argv as given. */
async function runImage(
  image: BuiltImage,
  argv: string[],
  opts: { readOnly?: boolean } = {},
): Promise<CommandResult> {
  const flags = ['--rm', '--net-host', ...(opts.readOnly ? ['--read-only'] : [])];
  return daemon.ctr(['run', ...flags, image.ref, `images-test-${++runs}`, ...argv], {
    timeoutMs: 60_000,
  });
}

function expectLabels(config: OciConfig, title: string) {
  expect(config.config.Labels).toMatchObject({
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.source': expect.stringMatching(/^https:\/\//),
    'org.opencontainers.image.version': VERSION,
    'org.opencontainers.image.revision': expect.stringMatching(/^[0-9a-f]{40}$/),
  });
  expect(config.config.Healthcheck).toBeUndefined();
}

describe('the operator image', () => {
  test('runs the bundle on distroless Node as 65532, labelled, without a HEALTHCHECK', async () => {
    const config = await imageConfig(images.operator.archive);
    expect(config).toMatchObject({
      os: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : 'arm64',
    });
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual([
      '/nodejs/bin/node',
      '--max-semi-space-size=16',
      '/usr/local/lib/wasm-node/wasm-node-operator.mjs',
    ]);
    expect(config.config.Cmd ?? []).toEqual([]);
    expectLabels(config, 'wasm-node-operator');
  });

  test('its entrypoint answers --help as uid 65532 on a read-only root filesystem', async () => {
    const { Entrypoint = [] } = (await imageConfig(images.operator.archive)).config;
    const help = await runImage(images.operator, [...Entrypoint, '--help'], { readOnly: true });
    expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('usage: ') });
    expect(help.stdout).toContain('--kubeconfig FILE');
    const uid = await runImage(images.operator, ['/nodejs/bin/node', '-p', 'process.getuid()'], {
      readOnly: true,
    });
    expect(uid.stdout.trim()).toBe('65532');
  }, 120_000);

  test('has no shell and no package manager', async () => {
    const candidates = ['/bin/sh', '/bin/bash', '/bin/busybox', '/usr/bin/apt', '/usr/bin/dpkg'];
    const found = await runImage(images.operator, ['/nodejs/bin/node', '-e', existing(candidates)]);
    expect(found).toMatchObject({ code: 0, stdout: '\n' });
    // A shell as the container's command is not found: nothing there to exec.
    const sh = await runImage(images.operator, ['/bin/sh', '-c', 'true']);
    expect(sh.code).not.toBe(0);
  }, 120_000);
});

describe('the installer image', () => {
  test('wasm-node-installer is its entrypoint, labelled, without a HEALTHCHECK', async () => {
    const config = await imageConfig(images.installer.archive);
    expect(config.config.Entrypoint).toEqual(['wasm-node-installer']);
    expectLabels(config, 'wasm-node-installer');
  });

  test('wasm-node-installer --version prints the release version; nsenter is on PATH', async () => {
    expect(await runImage(images.installer, ['wasm-node-installer', '--version'])).toMatchObject({
      code: 0,
      stdout: `${VERSION}\n`,
    });
    const nsenter = await runImage(images.installer, ['nsenter', '--version']);
    expect(nsenter).toMatchObject({ code: 0, stdout: expect.stringContaining('util-linux') });
  }, 120_000);

  test('ships the test shim given to the build, matching its manifest; the corrupt variant does not', async () => {
    const check = ['node', '-e', CHECK_SHIMS];
    expect((await runImage(images.installer, check)).stdout).toMatch(/^wasmtime \S+ matches\n$/);
    expect((await runImage(images['installer-corrupt'], check)).stdout).toMatch(
      /^wasmtime \S+ differs\n$/,
    );
  }, 120_000);
});
