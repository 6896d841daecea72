import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RUNTIMES } from '../../src/catalog/runtimes.ts';
import { addRuntimes } from '../../src/containerd/patch-config.ts';
import { criStatus, registeredHandlers } from '../../src/cri/runtime-status.ts';
import { startContainerd, type ContainerdDaemon } from '../support/containerd-daemon.ts';
import { containerdBuilds, type ContainerdBuild } from '../support/containerd-builds.ts';
import { vmContainerdConfig } from '../support/containerd-vm-config.ts';

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

describe('CRI status of a daemon without our runtimes', () => {
  it('does not list them, so verification can fail for real', async () => {
    daemon = await startContainerd({ config: (paths) => vmContainerdConfig(paths) });
    const status = await criStatus(daemon.address, 10_000);
    expect(status.conditions.find((c) => c.type === 'RuntimeReady')?.status).toBe(true);
    const handlers = registeredHandlers(status);
    expect([...handlers.keys()]).toEqual(['runc']);
  });
});
