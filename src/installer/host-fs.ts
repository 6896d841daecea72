import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import {
  access,
  chmod,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The node's filesystem, seen through the host root mount (`/host` in the installer pod, `/`
 * when run on the node itself). Every path given here is a host path, e.g.
 * /etc/containerd/config.toml.
 */
export interface HostFs {
  /** Where host paths live in this process's view (for sockets and error messages). */
  local(path: string): string;
  readText(path: string): Promise<string | undefined>;
  readBytes(path: string): Promise<Buffer | undefined>;
  /** Temp file in the same directory, fsync, rename over, fsync the directory. */
  writeAtomic(path: string, data: string | Buffer, mode?: number): Promise<void>;
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

export function nodeHostFs(root: string): HostFs {
  const local = (p: string) => join(root, p);
  const readBytes = async (p: string) => {
    try {
      return await readFile(local(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    local,
    readBytes,
    readText: async (p) => (await readBytes(p))?.toString('utf8'),
    writeAtomic: async (p, data, mode) => {
      const target = local(p);
      const existing = await stat(target).catch(() => undefined);
      await replaceAtomically(target, async (tmp) => {
        const fh = await open(tmp, 'w', mode ?? existing?.mode ?? 0o644);
        try {
          await fh.writeFile(data);
        } finally {
          await fh.close();
        }
        if (mode !== undefined) await chmod(tmp, mode);
      });
    },
    copyAtomic: (source, p, mode) =>
      replaceAtomically(local(p), async (tmp) => {
        await copyFile(source, tmp);
        await chmod(tmp, mode);
      }),
    sha256: (p) => sha256File(local(p)),
    exists: async (p) => (await stat(local(p)).catch(() => undefined)) !== undefined,
    remove: (p) => rm(local(p), { recursive: true, force: true }),
    list: async (d) => readdir(local(d)).catch(() => []),
    ensureWritableDir: async (d) => {
      try {
        await mkdir(local(d), { recursive: true });
        await access(local(d), constants.W_OK);
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
