import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ShimsManifestSchema } from '../formats/shims-manifest.ts';
import { fetchShims } from './fetch-shims.ts';
import type { ShimVersions } from './shim-versions.ts';

const exec = promisify(execFile);
const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const URL_WASMTIME = 'https://example.invalid/containerd-shim-wasmtime-x86_64-linux-musl.tar.gz';

let work: string;
let archive: Uint8Array;
const SHIM_BYTES = '#!/bin/sh\necho fake shim\n';

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'fetch-shims-test-'));
  // Release archives may nest the binary in a directory; fetchShims finds it anywhere.
  await mkdir(path.join(work, 'src/release'), { recursive: true });
  await writeFile(path.join(work, 'src/release/containerd-shim-wasmtime-v1'), SHIM_BYTES);
  await writeFile(path.join(work, 'src/release/README'), 'not the shim');
  await exec('tar', [
    '-czf',
    path.join(work, 'shim.tar.gz'),
    '-C',
    path.join(work, 'src'),
    'release',
  ]);
  archive = new Uint8Array(await readFile(path.join(work, 'shim.tar.gz')));
  await mkdir(path.join(work, 'out'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

function versions(
  sha: string | null,
  extra: Partial<ShimVersions['runtimes'][string]> = {},
): ShimVersions {
  const artifact = {
    url: URL_WASMTIME,
    sha256: sha,
    checksumSource: sha ? 'test' : 'MISSING: test',
  };
  return {
    schema: 'wasm-node.dev/shim-versions/v1',
    note: '',
    runtimes: {
      wasmtime: {
        version: '9.9.9',
        release: 'https://example.invalid',
        artifacts: { amd64: artifact, arm64: artifact },
        ...extra,
      },
    },
  };
}

const served = (async (url: string | URL | Request) =>
  String(url) === URL_WASMTIME
    ? new Response(archive)
    : new Response('not found', { status: 404 })) as typeof fetch;

describe('fetchShims', () => {
  it('verifies the archive, extracts the shim and writes the manifest the installer checks against', async () => {
    const out = path.join(work, 'out');
    await fetchShims({
      versions: versions(sha256(archive)),
      arch: 'amd64',
      runtimes: ['wasmtime'],
      outDir: out,
      fetch: served,
    });

    const binary = path.join(out, 'containerd-shim-wasmtime-v1');
    expect(await readFile(binary, 'utf8')).toBe(SHIM_BYTES);
    expect((await stat(binary)).mode & 0o777).toBe(0o755);
    const manifest = ShimsManifestSchema.parse(
      JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8')),
    );
    expect(manifest.runtimes).toEqual([
      {
        name: 'wasmtime',
        version: '9.9.9',
        binary: 'containerd-shim-wasmtime-v1',
        sha256: sha256(SHIM_BYTES),
      },
    ]);
  });

  it('refuses an archive whose bytes do not match the pinned checksum and writes nothing', async () => {
    const out = path.join(work, 'out');
    const wrong = sha256('something else');
    await expect(
      fetchShims({
        versions: versions(wrong),
        arch: 'amd64',
        runtimes: ['wasmtime'],
        outDir: out,
        fetch: served,
      }),
    ).rejects.toThrow(`has sha256 ${sha256(archive)}, pinned ${wrong}`);
    await expect(stat(path.join(out, 'manifest.json'))).rejects.toThrow(/ENOENT/);
    await expect(stat(path.join(out, 'containerd-shim-wasmtime-v1'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses an artifact without a pinned checksum before downloading it', async () => {
    let fetched = false;
    const spy = (async () => ((fetched = true), new Response(archive))) as typeof fetch;
    await expect(
      fetchShims({
        versions: versions(null),
        arch: 'arm64',
        runtimes: ['wasmtime'],
        outDir: work,
        fetch: spy,
      }),
    ).rejects.toThrow('wasmtime arm64: no pinned sha256');
    expect(fetched).toBe(false);
  });

  it('refuses unknown runtimes', async () => {
    await expect(
      fetchShims({
        versions: versions(sha256(archive)),
        arch: 'amd64',
        runtimes: ['wasmtim'],
        outDir: work,
        fetch: served,
      }),
    ).rejects.toThrow(/unknown runtime "wasmtim"/);
  });
});

describe('fetchShims with a bundled runtime', () => {
  const LIB = 'the library';
  const bundled = (entryVersion = '9.9.9') => {
    const v = versions(sha256(archive), {
      bundle: { how: 'built by a stage', debianPackages: {} },
    });
    return { v, entry: bundleEntry(entryVersion) };
  };
  /** What installer-image/bundle-crun-wasm.sh leaves in <bundles>/<runtime>/. */
  const bundleEntry = (version: string) => ({
    name: 'wasmtime',
    version,
    binary: 'containerd-shim-wasmtime-v1',
    sha256: sha256(`${sha256(LIB)}  lib/libx.so\n`),
    bundle: {
      dir: 'wasmtime-bundle',
      placeholder: `/root${'_'.repeat(64)}`,
      files: [{ path: 'lib/libx.so', sha256: sha256(LIB), mode: 0o644 }],
      relocate: [],
    },
  });
  const stage = async (entry: object, lib = LIB) => {
    const dir = path.join(work, 'bundles/wasmtime');
    await mkdir(path.join(dir, 'wasmtime-bundle/lib'), { recursive: true });
    await writeFile(path.join(dir, 'wasmtime-bundle/lib/libx.so'), lib);
    await writeFile(path.join(dir, 'manifest-entry.json'), JSON.stringify(entry));
    return path.join(work, 'bundles');
  };
  const run = (v: ShimVersions, bundlesDir?: string) =>
    fetchShims({
      versions: v,
      arch: 'amd64',
      runtimes: ['wasmtime'],
      outDir: path.join(work, 'out'),
      bundlesDir,
      fetch: (async () => {
        throw new Error('a bundle is not downloaded');
      }) as typeof fetch,
    });

  it('copies the bundle an image stage built and lists its entry in the manifest', async () => {
    const { v, entry } = bundled();
    const manifest = await run(v, await stage(entry));
    expect(manifest.runtimes).toEqual([entry]);
    expect(await readFile(path.join(work, 'out/wasmtime-bundle/lib/libx.so'), 'utf8')).toBe(LIB);
  });

  it('refuses a bundled runtime without the stage output, or of another version than pinned', async () => {
    const { v } = bundled();
    await expect(run(v)).rejects.toThrow('built into a bundle by an image stage');
    await expect(run(v, await stage(bundleEntry('1.0.0')))).rejects.toThrow(
      'is wasmtime 1.0.0, expected wasmtime 9.9.9 (pinned in the versions file)',
    );
  });
});

describe('fetchShims with a runtime given in the bundles dir', () => {
  /** What scripts/images.sh gives for the test shim of builds offline. */
  const given = async (bytes: string, entry: object) => {
    const dir = path.join(work, 'given/wasmtime');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'containerd-shim-wasmtime-v1'), bytes);
    await writeFile(path.join(dir, 'manifest-entry.json'), JSON.stringify(entry));
    return path.join(work, 'given');
  };
  const entry = {
    name: 'wasmtime',
    version: '0.1.0-test',
    binary: 'containerd-shim-wasmtime-v1',
    sha256: sha256(SHIM_BYTES),
  };
  const run = (bundlesDir: string) =>
    fetchShims({
      versions: versions(sha256(archive)),
      arch: 'amd64',
      runtimes: ['wasmtime'],
      outDir: path.join(work, 'out'),
      bundlesDir,
      fetch: (async () => {
        throw new Error('a given runtime is not downloaded');
      }) as typeof fetch,
    });

  it('takes the binary and its entry as given, with its own version, instead of downloading', async () => {
    expect((await run(await given(SHIM_BYTES, entry))).runtimes).toEqual([entry]);
    const binary = path.join(work, 'out/containerd-shim-wasmtime-v1');
    expect(await readFile(binary, 'utf8')).toBe(SHIM_BYTES);
    expect((await stat(binary)).mode & 0o777).toBe(0o755);
  });

  it('ships a binary that does not match its entry as it is: the installer refuses it on the node', async () => {
    const manifest = await run(await given(`${SHIM_BYTES}tampered`, entry));
    expect(manifest.runtimes[0]?.sha256).toBe(sha256(SHIM_BYTES));
    const shipped = await readFile(path.join(work, 'out/containerd-shim-wasmtime-v1'), 'utf8');
    expect(sha256(shipped)).not.toBe(manifest.runtimes[0]?.sha256);
  });

  it('refuses an entry named for another runtime', async () => {
    await expect(run(await given(SHIM_BYTES, { ...entry, name: 'spin' }))).rejects.toThrow(
      'manifest-entry.json is spin 0.1.0-test, expected wasmtime',
    );
  });
});
