import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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
      const tmp = `${target}.wasm-node.${process.pid}.tmp`;
      const fh = await open(tmp, 'w', mode ?? existing?.mode ?? 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (mode !== undefined) await chmod(tmp, mode);
      try {
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
    },
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
