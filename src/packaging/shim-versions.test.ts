import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import {
  ARCHES,
  loadShimVersions,
  parseShimVersions,
  SHIM_VERSIONS_PATH,
} from './shim-versions.ts';

/** How each project (and Debian) names the architectures in its asset file names. */
const ARCH_TOKENS = { amd64: /x86_64|_amd64\./, arm64: /aarch64|_arm64\./ } as const;

describe('installer-image/versions.json', () => {
  it('has a release artifact for every catalog runtime on every architecture', async () => {
    const versions = await loadShimVersions();
    expect(Object.keys(versions.runtimes).sort()).toEqual([...RUNTIME_NAMES].sort());
    for (const name of RUNTIME_NAMES) {
      for (const arch of ARCHES) {
        const artifact = versions.runtimes[name]?.artifacts[arch];
        expect(artifact?.url).toMatch(ARCH_TOKENS[arch]);
      }
    }
  });

  it('pins every checksum it has as 64 lowercase hex, each a different file', async () => {
    const versions = await loadShimVersions();
    const artifacts = Object.values(versions.runtimes).flatMap((r) => [
      ...Object.values(r.artifacts),
    ]);
    const pinned = artifacts.flatMap((a) => (a.sha256 ? [a.sha256] : []));
    expect(pinned.length).toBeGreaterThan(0);
    for (const sha of pinned) expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(pinned).size).toBe(pinned.length);
    // An unpinned artifact says so; the image build refuses it (fetch-shims.test.ts).
    for (const a of artifacts.filter((x) => x.sha256 === null))
      expect(a.checksumSource).toMatch(/^MISSING: /);
  });

  it('names the pinned version in every downloaded release URL', async () => {
    const versions = await loadShimVersions();
    for (const [name, entry] of Object.entries(versions.runtimes)) {
      // Debian's file names carry the version without a v.
      if (entry.bundle) continue;
      for (const arch of ARCHES)
        expect(`${name} ${entry.artifacts[arch].url}`).toContain(`v${entry.version}`);
      expect(entry.release).toContain(`v${entry.version}`);
    }
  });

  it('pins every runtime the chart installs by default, so the default image builds', async () => {
    const versions = await loadShimVersions();
    const values = load(
      await readFile(
        new URL('../../charts/wasm-node-operator/values.yaml', import.meta.url),
        'utf8',
      ),
    ) as {
      config: { runtimes: string[] };
    };
    for (const name of values.config.runtimes) {
      const entry = versions.runtimes[name];
      for (const arch of ARCHES)
        expect(`${name}/${arch}: ${entry?.artifacts[arch].sha256}`).toMatch(/: [0-9a-f]{64}$/);
    }
  });

  it('rejects a file with a missing runtime, a missing architecture or a malformed checksum', async () => {
    const good = JSON.parse(await readFile(SHIM_VERSIONS_PATH, 'utf8'));
    const without = structuredClone(good);
    delete without.runtimes.wasmer;
    expect(() => parseShimVersions(without)).toThrow(/runtimes\.wasmer/);

    const noArm = structuredClone(good);
    delete noArm.runtimes.spin.artifacts.arm64;
    expect(() => parseShimVersions(noArm)).toThrow(/runtimes\.spin\.artifacts\.arm64/);

    const upper = structuredClone(good);
    upper.runtimes.spin.artifacts.amd64.sha256 = 'A'.repeat(64);
    expect(() => parseShimVersions(upper)).toThrow(/64 lowercase hex characters/);

    const empty = structuredClone(good);
    empty.runtimes.spin.artifacts.amd64.sha256 =
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(() => parseShimVersions(empty)).toThrow(/sha256 of empty input/);

    const silent = structuredClone(good);
    silent.runtimes.spin.artifacts.amd64.sha256 = null;
    expect(() => parseShimVersions(silent)).toThrow(/MISSING/);
  });
});
