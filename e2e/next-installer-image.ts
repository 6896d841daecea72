// The next release of an installer image, as a node meets it: the same image whose crun-wasm
// bundle differs by one added file. The bundle's listing, and with it the content-addressed
// directory the installer puts it in, is then new, as a release with a new crun would make it.
// Made with buildah in a throwaway store (no registry here); the manifest entry is rewritten
// the way the image build writes it: per-file sha256, and the sha256 of the listing.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ShimsManifestSchema, bundleListing } from '../src/formats/shims-manifest.ts';
import { run } from '../test/support/run-command.ts';

/** Where the Dockerfile's installer stage puts the shims and their manifest. */
const SHIMS_DIR = 'opt/wasm-node/shims';
const ADDED = { path: 'share/wasm-node-release', text: 'next\n' };
const BUILDAH_MS = 10 * 60_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Adds ADDED to the runtime's bundle in an unpacked shims dir and rewrites its manifest entry. */
async function addBundleFile(shims: string, runtime: string): Promise<void> {
  const file = join(shims, 'manifest.json');
  const manifest = ShimsManifestSchema.parse(JSON.parse(await readFile(file, 'utf8')));
  const entry = manifest.runtimes.find((r) => r.name === runtime);
  if (!entry?.bundle) throw new Error(`the installer image ships no ${runtime} bundle`);
  const target = join(shims, entry.bundle.dir, ADDED.path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, ADDED.text, { mode: 0o644 });
  entry.bundle.files.push({ path: ADDED.path, sha256: sha256(ADDED.text), mode: 0o644 });
  entry.sha256 = sha256(bundleListing(entry.bundle.files));
  await writeFile(file, JSON.stringify(manifest, null, 2));
}

/**
 * Builds `ref` from the OCI archive `base` with `runtime`'s bundle changed, hands its archive
 * to `use` (to import it into nodes), then removes everything it made.
 */
export async function withNextInstallerImage(
  base: string,
  ref: string,
  runtime: string,
  use: (archive: string) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'next-installer-'));
  const store = ['--root', `${dir}/root`, '--runroot', `${dir}/run`, '--storage-driver', 'overlay'];
  const buildah = async (...args: string[]) =>
    (await run('buildah', [...store, ...args], { timeoutMs: BUILDAH_MS })).trim();
  try {
    const container = await buildah('from', '--quiet', `oci-archive:${base}`);
    await addBundleFile(join(await buildah('mount', container), SHIMS_DIR), runtime);
    await buildah('commit', '--quiet', container, ref);
    await buildah('push', '--quiet', ref, `oci-archive:${dir}/image.tar:${ref}`);
    await use(`${dir}/image.tar`);
  } finally {
    await buildah('rm', '--all').catch(() => undefined);
    await buildah('rmi', '--all', '--force').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
