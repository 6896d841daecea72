import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { Runtime } from '../../catalog/runtimes.ts';
import { sha256File } from '../host/fs.ts';
import { InstallError } from '../errors.ts';
import {
  bundleListing,
  ShimsManifestSchema,
  type ShippedBundle,
  type ShippedRuntime,
} from '../../formats/shims-manifest.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
export const CONTENT_DIR = /^[0-9a-f]{16}$/;

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

interface PlanBase {
  runtime: Runtime;
  version: string;
  sha256: string;
  /** Host path the config points at, inside a directory named after the content. */
  path: string;
}

export interface BundleFile {
  /** In the image. */
  source: string;
  /** On the node. */
  path: string;
  sha256: string;
  mode: number;
  relocate: boolean;
}

export type ShimPlan =
  | (PlanBase & { bytes: Buffer; bundle?: undefined })
  | (PlanBase & {
      bytes?: undefined;
      bundle: { root: string; placeholder: string; files: BundleFile[] };
    });

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
    runtimes.map(async (runtime): Promise<ShimPlan> => {
      const entry = manifest.runtimes.find((r) => r.name === runtime.name);
      if (entry === undefined || entry.binary !== runtime.binary) {
        throw new InstallError(
          'runtime-not-shipped',
          `this installer image does not ship runtime "${runtime.name}" (it ships ${manifest.runtimes.map((r) => r.name).join(', ') || 'none'})`,
        );
      }
      const root = `${opts.binDir}/${entry.sha256.slice(0, 16)}`;
      const base = { runtime, version: entry.version, sha256: entry.sha256 };
      if (entry.bundle) {
        const bundle = await verifiedBundle(opts.shimsDir, entry, entry.bundle, root);
        return { ...base, path: `${root}/bin/${entry.binary}`, bundle };
      }
      const bytes = await verified(opts.shimsDir, entry);
      return { ...base, path: `${root}/${entry.binary}`, bytes };
    }),
  );
}

async function verifiedBundle(
  shimsDir: string,
  entry: ShippedRuntime,
  bundle: ShippedBundle,
  root: string,
) {
  const where = `bundle ${bundle.dir} of runtime "${entry.name}"`;
  const listed = sha256(Buffer.from(bundleListing(bundle.files)));
  const paths = new Set(bundle.files.map((f) => f.path));
  const unlisted = [`bin/${entry.binary}`, ...bundle.relocate].filter((p) => !paths.has(p));
  if (listed !== entry.sha256 || unlisted.length > 0) {
    throw new InstallError(
      'manifest-invalid',
      listed !== entry.sha256
        ? `the file list of the ${where} hashes to ${listed}, the manifest says ${entry.sha256}`
        : `the ${where} does not list ${unlisted.join(', ')}`,
    );
  }
  if (Buffer.byteLength(root) > Buffer.byteLength(bundle.placeholder)) {
    throw new InstallError(
      'bin-dir-too-long',
      `the ${where} can be installed below a path of at most ${Buffer.byteLength(bundle.placeholder)} bytes; ${root} is longer: set a shorter --bin-dir`,
    );
  }
  const files: BundleFile[] = [];
  for (const f of bundle.files) {
    const source = `${shimsDir}/${bundle.dir}/${f.path}`;
    await expectHash(source, f.sha256, where);
    files.push({
      ...f,
      source,
      path: `${root}/${f.path}`,
      relocate: bundle.relocate.includes(f.path),
    });
  }
  return { root, placeholder: bundle.placeholder, files };
}

async function expectHash(file: string, sha: string, where: string): Promise<void> {
  const got = await sha256File(file);
  if (got === undefined)
    throw new InstallError('runtime-not-shipped', `${file} of the ${where} is missing`);
  if (got !== sha) {
    throw new InstallError(
      'checksum-mismatch',
      `${file} of the ${where} has sha256 ${got}, the manifest says ${sha}; the installer image is corrupt or tampered with`,
    );
  }
}
