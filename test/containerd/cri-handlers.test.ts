import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { RUNTIMES } from '../../src/catalog/runtimes.ts';
import { CRI_NAMESPACES } from '../../src/containerd/config-layout.ts';
import { addRuntimes } from '../../src/containerd/patch-config.ts';
import { parseToml, tableAt } from '../../src/containerd/toml-table.ts';
import { criStatus, registeredHandlers } from '../../src/cri/runtime-status.ts';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { containerdBuilds, type ContainerdBuild } from '../support/containerd-builds.ts';
import { vmContainerdConfig } from '../support/containerd-vm-config.ts';
import { runCommand } from '../support/run-command.ts';

// A real daemon started on a patched config must register every handler in its CRI plugin,
// read back through the same CRI Status call the installer uses to verify a node.
const installs = RUNTIMES.map((runtime) => ({
  runtime,
  binaryPath: `/opt/wasm-node/bin/${runtime.binary}`,
}));
let builds: ContainerdBuild[] = [];
let daemon: ContainerdDaemon | undefined;

beforeAll(() => {
  builds = containerdBuilds();
}, 1_800_000);
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

const V3_BASE = `version = 3
[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
`;

describe.each([
  ['debian-1.6', 'v2'],
  ['v1.7.35', 'v2'],
  ['v2.2.9', 'v2'],
  ['v2.2.9', 'v3'],
])('containerd %s daemon with a patched %s config', (version, schema) => {
  it('registers every requested handler with its runtime type, and keeps runc', async () => {
    const build = builds.find((b) => b.version === version) as ContainerdBuild;
    daemon = await startContainerd({
      binary: build.containerd,
      config: (paths) =>
        addRuntimes(schema === 'v3' ? V3_BASE : vmContainerdConfig(paths), { runtimes: installs })
          .text,
    });
    const handlers = registeredHandlers(await criStatus(daemon.address, 10_000));
    for (const { runtime } of installs)
      expect(handlers.get(runtime.name)).toBe(runtime.runtimeType);
    expect(handlers.get('runc')).toBe('io.containerd.runc.v2');
  });
});

// Debian 12 and 13 ship a config that declares no runtime (sid's 2.1 the same file); its opt
// plugin's host directory is moved into the daemon's own.
const shipped = readFileSync(
  new URL('../fixtures/containerd-samples/debian-13-containerd-1.7.24.toml', import.meta.url),
  'utf8',
);
const debian = (paths: { dir: string }) =>
  shipped.replace('"/var/lib/containerd/opt"', `"${paths.dir}/opt"`);

/** runc as `build` has it built in: its dump of a config that declares nothing. */
async function builtIn(build: ContainerdBuild) {
  const r = await runCommand(build.containerd, ['--config', '/dev/null', 'config', 'dump'], {
    timeoutMs: 30_000,
  });
  expect(r.code).toBe(0);
  return tableAt(parseToml(r.stdout), ['plugins', CRI_NAMESPACES.v2, 'containerd', 'runtimes']);
}

describe.each(['debian-1.6', 'v1.7.35', 'v2.2.9'])(
  "containerd %s daemon on Debian's shipped config",
  (version) => {
    const build = () => builds.find((b) => b.version === version) as ContainerdBuild;

    it('patched as the installer patches it on this release: our handlers and runc', async () => {
      // The installer declares the built-ins only where containerd would otherwise drop them.
      const carry = build().major === 1 ? await builtIn(build()) : undefined;
      daemon = await startContainerd({
        binary: build().containerd,
        config: (paths) => addRuntimes(debian(paths), { runtimes: installs, builtIn: carry }).text,
      });
      const handlers = registeredHandlers(await criStatus(daemon.address, 10_000));
      expect(handlers.get('runc')).toBe('io.containerd.runc.v2');
      for (const { runtime } of installs)
        expect(handlers.get(runtime.name)).toBe(runtime.runtimeType);
    });

    it('a block written on Debian 12 (1.6) still serves runc and ours after an upgrade to this release', async () => {
      const debian16 = builds.find((b) => b.version === 'debian-1.6') as ContainerdBuild;
      const carry = await builtIn(debian16);
      daemon = await startContainerd({
        binary: build().containerd,
        config: (paths) => {
          const written = addRuntimes(debian(paths), { runtimes: installs, builtIn: carry });
          // A later install on this release keeps the block as it is.
          const rerun = addRuntimes(written.text, { runtimes: installs });
          expect(rerun.text).toBe(written.text);
          return rerun.text;
        },
      });
      const handlers = registeredHandlers(await criStatus(daemon.address, 10_000));
      expect(handlers.get('runc')).toBe('io.containerd.runc.v2');
      expect(handlers.get('wasmtime')).toBe('io.containerd.wasmtime.v1');
    });
  },
);

describe('CRI status of a daemon without our runtimes', () => {
  it('does not list them, so verification can fail for real', async () => {
    daemon = await startContainerd({ config: (paths) => vmContainerdConfig(paths) });
    const status = await criStatus(daemon.address, 10_000);
    expect(status.conditions.find((c) => c.type === 'RuntimeReady')?.status).toBe(true);
    const handlers = registeredHandlers(status);
    expect([...handlers.keys()]).toEqual(['runc']);
  });
});
