import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { RUNTIME_NAMES, resolveRuntimes } from '../../catalog/runtimes.ts';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import type { HostFs } from '../host/fs.ts';
import { InstallError } from '../errors.ts';

/**
 * containerd before 1.7 drops CRI's runtime_path before it starts a shim (containerd#8207, see
 * test/containerd/wasm-shim-cri.test.ts), so there a shim runs only when containerd finds it
 * by name on its PATH; nor can it pass a shim its options (RuntimeInstall.shimOptions).
 */
export function legacyShimCri(version: { major: number; minor: number }): boolean {
  return version.major < 1 || (version.major === 1 && version.minor < 7);
}

export interface PathShim {
  binary: string;
  sha256: string;
  bytes: Buffer;
}

/** A file on PATH is ours when its content is one of our content-addressed binaries. */
async function isOurs(bytes: Buffer, binDir: string, fs: HostFs): Promise<boolean> {
  const dir = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  return fs.exists(`${binDir}/${dir}`);
}

const pathDirs = (inst: ContainerdInstance) =>
  (inst.path ?? '').split(':').filter((dir) => isAbsolute(dir));

/** What a file held before we wrote it, to put it back when the install fails later. */
export interface PathWrite {
  file: string;
  before: Buffer | undefined;
}

/**
 * Copies each shim, under its own name, into the first writable directory on containerd's
 * PATH (a copy, not a link: the content names it ours). Refuses to replace a file we did not
 * put there.
 */
export async function copyShimsToPath(
  inst: ContainerdInstance,
  shims: readonly PathShim[],
  binDir: string,
  fs: HostFs,
): Promise<PathWrite[]> {
  let dir: string | undefined;
  for (const candidate of pathDirs(inst)) {
    if ((await fs.exists(candidate)) && (await fs.ensureWritableDir(candidate))) {
      dir = candidate;
      break;
    }
  }
  if (dir === undefined) {
    throw new InstallError(
      'shim-path-not-writable',
      `containerd ${inst.exe} ignores runtime_path, so shims must be on its PATH, but no directory of it is writable: ${inst.path ?? '(no PATH)'}`,
    );
  }
  const writes: PathWrite[] = [];
  for (const shim of shims) {
    const file = `${dir}/${shim.binary}`;
    const before = await fs.readBytes(file);
    if (before !== undefined) {
      if (createHash('sha256').update(before).digest('hex') === shim.sha256) continue;
      if (!(await isOurs(before, binDir, fs))) {
        throw new InstallError(
          'shim-name-taken',
          `${file} exists and was not installed by wasm-node-installer; containerd would run it for the "${shim.binary}" shim`,
        );
      }
    }
    await fs.writeAtomic(file, shim.bytes, { mode: 0o755 });
    writes.push({ file, before });
  }
  return writes;
}

export async function undoPathWrites(writes: readonly PathWrite[], fs: HostFs): Promise<void> {
  for (const { file, before } of writes) {
    if (before === undefined) await fs.remove(file);
    else await fs.writeAtomic(file, before, { mode: 0o755 });
  }
}

/** Removes our copies of every known shim from containerd's PATH; returns what it removed. */
export async function removeShimsFromPath(
  inst: ContainerdInstance,
  binDir: string,
  fs: HostFs,
): Promise<string[]> {
  const binaries = resolveRuntimes(RUNTIME_NAMES)
    .filter((r) => r.launch === 'shim')
    .map((r) => r.binary);
  const removed: string[] = [];
  for (const dir of pathDirs(inst)) {
    for (const binary of binaries) {
      const file = `${dir}/${binary}`;
      const bytes = await fs.readBytes(file).catch(() => undefined);
      if (bytes !== undefined && (await isOurs(bytes, binDir, fs))) {
        await fs.remove(file);
        removed.push(file);
      }
    }
  }
  return removed;
}
