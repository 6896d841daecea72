import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { Runtime } from '../catalog/runtimes.ts';
import type { HostFs } from './host-fs.ts';
import { InstallError } from './install-error.ts';
import { ShimsManifestSchema, type ShippedRuntime } from './shims-manifest.ts';

export interface InstalledShim {
  runtime: Runtime;
  version: string;
  sha256: string;
  /** Host path the config points at. */
  path: string;
  copied: boolean;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const CONTENT_DIR = /^[0-9a-f]{16}$/;

async function loadManifest(shimsDir: string) {
  const file = `${shimsDir}/manifest.json`;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InstallError('manifest-invalid', `cannot read the shims manifest ${file}: ${(err as Error).message}`);
  }
  const parsed = ShimsManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new InstallError('manifest-invalid', `${file} is not a shims manifest: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

async function verified(shimsDir: string, entry: ShippedRuntime): Promise<Buffer> {
  const file = `${shimsDir}/${entry.binary}`;
  const bytes = await readFile(file).catch(() => undefined);
  if (bytes === undefined) throw new InstallError('runtime-not-shipped', `${file} is listed in the manifest but missing`);
  const got = sha256(bytes);
  if (got !== entry.sha256) {
    throw new InstallError(
      'checksum-mismatch',
      `${entry.binary} for runtime "${entry.name}" has sha256 ${got}, the manifest says ${entry.sha256}; the installer image is corrupt or tampered with`,
    );
  }
  return bytes;
}

/**
 * Puts each runtime's binary on the node under a directory named after its content, so an
 * upgrade writes a new path instead of overwriting a shim that running pods still execute
 * ("text file busy"). Every binary is verified before the first byte reaches the node.
 */
export async function installShims(
  runtimes: readonly Runtime[],
  opts: { shimsDir: string; binDir: string },
  fs: HostFs,
): Promise<InstalledShim[]> {
  const manifest = await loadManifest(opts.shimsDir);
  const shipped = await Promise.all(
    runtimes.map(async (runtime) => {
      const entry = manifest.runtimes.find((r) => r.name === runtime.name);
      if (entry === undefined || entry.binary !== runtime.binary) {
        throw new InstallError(
          'runtime-not-shipped',
          `this installer image does not ship runtime "${runtime.name}" (it ships ${manifest.runtimes.map((r) => r.name).join(', ') || 'none'})`,
        );
      }
      return { runtime, entry, bytes: await verified(opts.shimsDir, entry) };
    }),
  );
  if (!(await fs.ensureWritableDir(opts.binDir))) {
    throw new InstallError(
      'bin-dir-not-writable',
      `${opts.binDir} is not writable on this node (read-only /opt, as on Flatcar or COS?); set the installer's --bin-dir to a writable directory on containerd's host`,
    );
  }
  const installed: InstalledShim[] = [];
  for (const { runtime, entry, bytes } of shipped) {
    const path = `${opts.binDir}/${entry.sha256.slice(0, 16)}/${entry.binary}`;
    const present = await fs.readBytes(path);
    const copied = present === undefined || sha256(present) !== entry.sha256;
    if (copied) {
      await fs.ensureWritableDir(`${opts.binDir}/${entry.sha256.slice(0, 16)}`);
      await fs.writeAtomic(path, bytes, 0o755);
    }
    installed.push({ runtime, version: entry.version, sha256: entry.sha256, path, copied });
  }
  return installed;
}

/**
 * Removes binaries of ours that neither the config (keep) nor a running process (a shim
 * serving pods started before an upgrade) uses any more.
 */
export async function pruneShims(
  binDir: string,
  keep: readonly string[],
  runningExes: readonly string[],
  fs: HostFs,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.list(binDir)) {
    if (!CONTENT_DIR.test(name)) continue;
    const dir = `${binDir}/${name}/`;
    const used = [...keep, ...runningExes].some((p) => p.startsWith(dir));
    if (!used) {
      await fs.remove(`${binDir}/${name}`);
      removed.push(`${binDir}/${name}`);
    }
  }
  return removed;
}
