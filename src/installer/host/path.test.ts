import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInRoot } from './path.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'host-path-'));
  for (const d of ['etc/static/containerd', 'nix/store/abc-containerd', 'data/rancher/k3s', 'run'])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'nix/store/abc-containerd/config.toml'), 'version = 2\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const link = (target: string, at: string) => {
  mkdirSync(join(root, at, '..'), { recursive: true });
  symlinkSync(target, join(root, at));
};

describe('resolveInRoot', () => {
  it('follows absolute links from the host root (NixOS /etc/containerd/config.toml)', async () => {
    link('/etc/static/containerd', 'etc/containerd');
    link('/nix/store/abc-containerd/config.toml', 'etc/static/containerd/config.toml');
    expect(await resolveInRoot(root, '/etc/containerd/config.toml')).toBe(
      '/nix/store/abc-containerd/config.toml',
    );
    expect(await resolveInRoot(root, '/etc/containerd/config.toml', { followLast: false })).toBe(
      '/etc/static/containerd/config.toml',
    );
  });

  it('follows a symlinked directory on the way (a /var/lib/rancher moved to /data)', async () => {
    link('/data/rancher', 'var/lib/rancher');
    expect(await resolveInRoot(root, '/var/lib/rancher/k3s/agent/etc/containerd/config.toml')).toBe(
      '/data/rancher/k3s/agent/etc/containerd/config.toml',
    );
  });

  it('resolves relative links and never climbs above the root', async () => {
    link('../../run', 'var/run');
    link('../../../../../etc', 'data/escape');
    expect(await resolveInRoot(root, '/var/run/containerd/containerd.sock')).toBe(
      '/run/containerd/containerd.sock',
    );
    expect(await resolveInRoot(root, '/data/escape/os-release')).toBe('/etc/os-release');
  });

  it('keeps components that do not exist, and refuses a loop', async () => {
    expect(await resolveInRoot(root, '/opt/wasm-node/bin')).toBe('/opt/wasm-node/bin');
    link('/loop/b', 'loop/a');
    link('/loop/a', 'loop/b');
    await expect(resolveInRoot(root, '/loop/a/x')).rejects.toMatchObject({ code: 'ELOOP' });
  });
});
