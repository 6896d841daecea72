import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveInRoot } from './path.ts';
import { pipeline } from 'node:stream/promises';

/**
 * The node's filesystem, seen through the host root mount (`/host` in the installer pod, `/`
 * when run on the node itself). Every path given here is a host path, e.g.
 * /etc/containerd/config.toml.
 */
export interface HostFs {
  /** Where a host path lives in this process's view, without following links (the lock in /run). */
  local(path: string): string;
  /** The host path `path` names once links are followed inside the host root (/var/run → /run). */
  realpath(path: string): Promise<string>;
  /** Where a host path lives in this process's view, links followed inside the host root (sockets). */
  located(path: string): Promise<string>;
  /** The host path a symlink at `path` leads to, undefined when `path` is not a symlink. */
  symlinkTarget(path: string): Promise<string | undefined>;
  readText(path: string): Promise<string | undefined>;
  readBytes(path: string): Promise<Buffer | undefined>;
  /**
   * Temp file in the same directory, fsync, rename over, fsync the directory. The file gets
   * `mode` if given, else the mode and owner of `like` (default: of the file it replaces), so
   * a 0600 config with registry credentials stays 0600 and its backup too.
   */
  writeAtomic(path: string, data: string | Buffer, opts?: WriteOptions): Promise<void>;
  /** writeAtomic of a file of this process (the image), streamed: bundles hold 100+ MB files. */
  copyAtomic(source: string, path: string, mode: number): Promise<void>;
  /** sha256 of a file, streamed; undefined when it does not exist. */
  sha256(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  remove(path: string): Promise<void>;
  list(dir: string): Promise<string[]>;
  /** Creates the directory when needed; false when it cannot be written (read-only /opt). */
  ensureWritableDir(dir: string): Promise<boolean>;
}

export interface WriteOptions {
  mode?: number;
  /** Host path whose mode and owner the file takes when no mode is given. */
  like?: string;
}

/**
 * Every path is resolved inside the host root first (host-path.ts), so a link to an absolute
 * path means the node's file, not the pod's.
 */
export function nodeHostFs(root: string): HostFs {
  const local = (p: string) => join(root, p);
  const at = async (p: string) => join(root, await resolveInRoot(root, p));
  const readBytes = async (p: string) => {
    try {
      return await readFile(await at(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    local,
    realpath: (p) => resolveInRoot(root, p),
    located: at,
    symlinkTarget: async (p) => {
      const link = await resolveInRoot(root, p, { followLast: false });
      const st = await lstat(local(link)).catch(() => undefined);
      return st?.isSymbolicLink() ? resolveInRoot(root, link) : undefined;
    },
    readBytes,
    readText: async (p) => (await readBytes(p))?.toString('utf8'),
    writeAtomic: async (p, data, opts = {}) => {
      const target = await at(p);
      const model =
        opts.mode === undefined
          ? await stat(await at(opts.like ?? p)).catch(() => undefined)
          : undefined;
      await replaceAtomically(target, async (tmp) => {
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(data);
          if (model !== undefined) await fh.chown(model.uid, model.gid);
          await fh.chmod(opts.mode ?? (model ? model.mode & 0o7777 : 0o644));
        } finally {
          await fh.close();
        }
      });
    },
    copyAtomic: async (source, p, mode) =>
      replaceAtomically(await at(p), async (tmp) => {
        await copyFile(source, tmp);
        await chmod(tmp, mode);
      }),
    sha256: async (p) => sha256File(await at(p)),
    exists: async (p) => (await stat(await at(p)).catch(() => undefined)) !== undefined,
    // A link itself is removed, never what it points at.
    remove: async (p) =>
      rm(local(await resolveInRoot(root, p, { followLast: false })), {
        recursive: true,
        force: true,
      }),
    list: async (d) => readdir(await at(d)).catch(() => []),
    ensureWritableDir: async (d) => {
      try {
        const dir = await at(d);
        await mkdir(dir, { recursive: true });
        await access(dir, constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Fills a temp file next to `target`, fsyncs it, renames it over `target`, fsyncs the directory. */
async function replaceAtomically(target: string, fill: (tmp: string) => Promise<void>) {
  const tmp = `${target}.wasm-node.${process.pid}.tmp`;
  try {
    await fill(tmp);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** sha256 of a file in this process's view, streamed; undefined when it does not exist. */
export async function sha256File(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return hash.digest('hex');
}
