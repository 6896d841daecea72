import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod';
import type { Runtime } from '../catalog/runtimes.ts';
import type { HostFs } from './host-fs.ts';
import { InstallError } from './install-error.ts';
import { ShimsManifestSchema, type ShippedRuntime } from './shims-manifest.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const CONTENT_DIR = /^[0-9a-f]{16}$/;

async function loadManifest(shimsDir: string) {
  const file = `${shimsDir}/manifest.json`;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InstallError(
      'manifest-invalid',
      `cannot read the shims manifest ${file}: ${(err as Error).message}`,
    );
  }
  const parsed = ShimsManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new InstallError(
      'manifest-invalid',
      `${file} is not a shims manifest: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

async function verified(shimsDir: string, entry: ShippedRuntime): Promise<Buffer> {
  const file = `${shimsDir}/${entry.binary}`;
  const bytes = await readFile(file).catch(() => undefined);
  if (bytes === undefined)
    throw new InstallError('runtime-not-shipped', `${file} is listed in the manifest but missing`);
  const got = sha256(bytes);
  if (got !== entry.sha256) {
    throw new InstallError(
      'checksum-mismatch',
      `${entry.binary} for runtime "${entry.name}" has sha256 ${got}, the manifest says ${entry.sha256}; the installer image is corrupt or tampered with`,
    );
  }
  return bytes;
}

export interface ShimPlan {
  runtime: Runtime;
  version: string;
  sha256: string;
  /** Host path the config points at, named after the content. */
  path: string;
  bytes: Buffer;
}

/**
 * Checks every requested binary against the manifest and decides where it goes, before a
 * single byte reaches the node. Paths are named after the content, so an upgrade writes a
 * new path instead of overwriting a shim that running pods still execute ("text file busy").
 */
export async function planShims(
  runtimes: readonly Runtime[],
  opts: { shimsDir: string; binDir: string },
): Promise<ShimPlan[]> {
  const manifest = await loadManifest(opts.shimsDir);
  return Promise.all(
    runtimes.map(async (runtime) => {
      const entry = manifest.runtimes.find((r) => r.name === runtime.name);
      if (entry === undefined || entry.binary !== runtime.binary) {
        throw new InstallError(
          'runtime-not-shipped',
          `this installer image does not ship runtime "${runtime.name}" (it ships ${manifest.runtimes.map((r) => r.name).join(', ') || 'none'})`,
        );
      }
      const bytes = await verified(opts.shimsDir, entry);
      const path = `${opts.binDir}/${entry.sha256.slice(0, 16)}/${entry.binary}`;
      return { runtime, version: entry.version, sha256: entry.sha256, path, bytes };
    }),
  );
}

/** Copies planned binaries that are not on the node yet; returns the ones it wrote. */
export async function copyShims(
  plans: readonly ShimPlan[],
  binDir: string,
  fs: HostFs,
): Promise<string[]> {
  if (!(await fs.ensureWritableDir(binDir))) {
    throw new InstallError(
      'bin-dir-not-writable',
      `${binDir} is not writable on this node (read-only /opt, as on Flatcar or COS?); set the installer's --bin-dir to a writable directory on containerd's host`,
    );
  }
  const written: string[] = [];
  for (const plan of plans) {
    const present = await fs.readBytes(plan.path);
    if (present !== undefined && sha256(present) === plan.sha256) continue;
    await fs.ensureWritableDir(dirname(plan.path));
    await fs.writeAtomic(plan.path, plan.bytes, 0o755);
    written.push(plan.path);
  }
  return written;
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
