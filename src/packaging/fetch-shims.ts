import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveRuntimes } from '../catalog/runtimes.ts';
import {
  SHIMS_MANIFEST_SCHEMA,
  ShimsManifestSchema,
  ShippedRuntimeSchema,
  type ShimsManifest,
  type ShippedRuntime,
} from '../formats/shims-manifest.ts';
import type { Arch, RuntimeVersions, ShimVersions } from './shim-versions.ts';

const exec = promisify(execFile);

export interface FetchShimsOptions {
  versions: ShimVersions;
  arch: Arch;
  runtimes: readonly string[];
  /** Receives the binaries and manifest.json: the installer's --shims-dir. */
  outDir: string;
  /**
   * Runtimes not to download: one directory per runtime name holding its manifest-entry.json
   * (a shims manifest entry) and its files: the binary, or the bundle's directory. Bundles that
   * an earlier image stage built (installer-image/bundle-crun-wasm.sh), or a build's local
   * inputs (scripts/images.sh). A runtime found here is taken from here.
   */
  bundlesDir?: string;
  fetch?: typeof globalThis.fetch;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Downloads each runtime's release archive for one architecture, refuses it unless its bytes
 * hash to the pinned sha256, extracts the shim binary and writes the manifest the installer
 * checks binaries against. Fails on the first problem: an image is complete or not built.
 */
export async function fetchShims(opts: FetchShimsOptions): Promise<ShimsManifest> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const manifest: ShimsManifest = { schema: SHIMS_MANIFEST_SCHEMA, runtimes: [] };
  for (const runtime of resolveRuntimes(opts.runtimes)) {
    const entry = opts.versions.runtimes[runtime.name];
    if (!entry) throw new Error(`${runtime.name}: no entry in the versions file`);
    const given = await takeGiven(runtime.name, entry, opts.bundlesDir, opts.outDir);
    if (given) {
      manifest.runtimes.push(given);
      continue;
    }
    if (entry.bundle) {
      throw new Error(
        `${runtime.name} is built into a bundle by an image stage; pass its output as bundlesDir`,
      );
    }
    const artifact = entry.artifacts[opts.arch];
    if (!artifact.sha256) {
      throw new Error(
        `${runtime.name} ${opts.arch}: no pinned sha256 for ${artifact.url} (${artifact.checksumSource})`,
      );
    }
    const response = await doFetch(artifact.url);
    if (!response.ok)
      throw new Error(`${runtime.name}: GET ${artifact.url} answered ${response.status}`);
    const archive = new Uint8Array(await response.arrayBuffer());
    const actual = sha256(archive);
    if (actual !== artifact.sha256) {
      throw new Error(
        `${runtime.name}: ${artifact.url} has sha256 ${actual}, pinned ${artifact.sha256}`,
      );
    }
    const binary = await extractBinary(archive, runtime.binary);
    const target = path.join(opts.outDir, runtime.binary);
    await copyFile(binary.path, target);
    await chmod(target, 0o755);
    await binary.cleanup();
    manifest.runtimes.push({
      name: runtime.name,
      version: entry.version,
      binary: runtime.binary,
      sha256: binary.sha256,
    });
  }
  const checked = ShimsManifestSchema.parse(manifest);
  await writeFile(path.join(opts.outDir, 'manifest.json'), `${JSON.stringify(checked, null, 2)}\n`);
  return checked;
}

/**
 * Copies a runtime given in `<bundlesDir>/<name>/` into the shims dir, or returns undefined when
 * there is none. Its files are not checked against its entry here: the entry came with them, so
 * a match would prove nothing about where they came from. The installer checks every file
 * against the manifest before it writes anything on a node (and a build with a deliberately
 * corrupted input is how the tests make it refuse one); the pins that do say where bytes come
 * from are versions.json's, checked above for every download.
 */
async function takeGiven(
  name: string,
  pinned: RuntimeVersions,
  bundlesDir: string | undefined,
  outDir: string,
): Promise<ShippedRuntime | undefined> {
  if (!bundlesDir) return undefined;
  const dir = path.join(bundlesDir, name);
  let text: string;
  try {
    text = await readFile(path.join(dir, 'manifest-entry.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const entry = ShippedRuntimeSchema.parse(JSON.parse(text));
  // A runtime the image builds from pinned packages ships only that version; a runtime that
  // is downloaded otherwise may be given as a stand-in (the test shim of builds offline).
  if (entry.name !== name || (pinned.bundle && entry.version !== pinned.version)) {
    throw new Error(
      `${dir}/manifest-entry.json is ${entry.name} ${entry.version}, expected ${name}${pinned.bundle ? ` ${pinned.version} (pinned in the versions file)` : ''}`,
    );
  }
  if (entry.bundle) {
    const target = path.join(outDir, entry.bundle.dir);
    await cp(path.join(dir, entry.bundle.dir), target, { recursive: true, dereference: true });
  } else {
    const target = path.join(outDir, entry.binary);
    await copyFile(path.join(dir, entry.binary), target);
    await chmod(target, 0o755);
  }
  return entry;
}

/** Unpacks a .tar.gz and finds the one file named `name` anywhere in it. */
async function extractBinary(
  archive: Uint8Array,
  name: string,
): Promise<{ path: string; sha256: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fetch-shims-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(path.join(dir, 'archive.tar.gz'), archive);
    await exec('tar', ['-xzf', 'archive.tar.gz', '-C', dir], { cwd: dir });
    const found = (await readdir(dir, { recursive: true, withFileTypes: true })).filter(
      (e) => e.isFile() && e.name === name,
    );
    if (found.length !== 1)
      throw new Error(`the archive holds ${found.length} files named ${name}, expected 1`);
    const file = path.join(found[0]!.parentPath, name);
    return { path: file, sha256: sha256(await readFile(file)), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
