import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import { nodeHostFs, type HostFs } from '../host/fs.ts';
import { InstallError } from '../errors.ts';
import {
  copyShimsToPath,
  legacyShimCri,
  removeShimsFromPath,
  undoPathWrites,
} from './containerd-path.ts';

const BIN_DIR = '/opt/wasm-node/bin';
const SHIM = 'containerd-shim-wasmtime-v1';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let fs: HostFs;
const host = (p: string) => join(root, p);

/** A shim as the installer ships it: its content-addressed copy is in the bin dir. */
function shipped(content: string) {
  const bytes = Buffer.from(content);
  const sha = sha256(bytes);
  mkdirSync(host(`${BIN_DIR}/${sha.slice(0, 16)}`), { recursive: true });
  writeFileSync(host(`${BIN_DIR}/${sha.slice(0, 16)}/${SHIM}`), bytes);
  return { binary: SHIM, sha256: sha, bytes };
}

const containerd = (path: string): ContainerdInstance => ({
  pid: 1,
  exe: '/usr/bin/containerd',
  command: '/usr/bin/containerd',
  configPath: '/etc/containerd/config.toml',
  address: '/run/containerd/containerd.sock',
  statePath: '/run/containerd',
  path,
  ancestors: [],
});

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'shim-path-'));
  fs = nodeHostFs(root);
  mkdirSync(host('/usr/local/sbin'), { recursive: true });
  mkdirSync(host('/usr/bin'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('shims on containerd 1.6', () => {
  it('applies before 1.7 only', () => {
    expect(legacyShimCri({ major: 1, minor: 6 })).toBe(true);
    expect(legacyShimCri({ major: 1, minor: 7 })).toBe(false);
    expect(legacyShimCri({ major: 2, minor: 0 })).toBe(false);
  });

  it('copies into the first existing directory of containerd PATH and removes only its own copies', async () => {
    const inst = containerd('/missing:relative/dir:/usr/local/sbin:/usr/bin');
    const v1 = shipped('shim v1');
    const writes = await copyShimsToPath(inst, [v1], BIN_DIR, fs);
    expect(writes).toEqual([{ file: `/usr/local/sbin/${SHIM}`, before: undefined }]);
    expect(readFileSync(host(`/usr/local/sbin/${SHIM}`), 'utf8')).toBe('shim v1');
    // Same content again: nothing to write.
    expect(await copyShimsToPath(inst, [v1], BIN_DIR, fs)).toEqual([]);

    // An upgrade replaces our own copy; undoing it puts the old one back.
    const upgrade = await copyShimsToPath(inst, [shipped('shim v2')], BIN_DIR, fs);
    await undoPathWrites(upgrade, fs);
    expect(readFileSync(host(`/usr/local/sbin/${SHIM}`), 'utf8')).toBe('shim v1');

    writeFileSync(host('/usr/bin/containerd-shim-spin-v2'), 'someone else');
    expect(await removeShimsFromPath(inst, BIN_DIR, fs)).toEqual([`/usr/local/sbin/${SHIM}`]);
    expect(readFileSync(host('/usr/bin/containerd-shim-spin-v2'), 'utf8')).toBe('someone else');
  });

  it('refuses to replace a shim it did not install', async () => {
    writeFileSync(host(`/usr/local/sbin/${SHIM}`), 'from the distribution');
    const err = await copyShimsToPath(
      containerd('/usr/local/sbin'),
      [shipped('ours')],
      BIN_DIR,
      fs,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as InstallError).code).toBe('shim-name-taken');
    expect(readFileSync(host(`/usr/local/sbin/${SHIM}`), 'utf8')).toBe('from the distribution');
  });

  it('fails clearly when containerd has no usable PATH', async () => {
    const err = await copyShimsToPath(containerd('/missing'), [shipped('ours')], BIN_DIR, fs).catch(
      (e: unknown) => e,
    );
    expect((err as InstallError).code).toBe('shim-path-not-writable');
  });
});
