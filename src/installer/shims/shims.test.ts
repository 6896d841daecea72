import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRuntimes } from '../../catalog/runtimes.ts';
import { nodeHostFs } from '../host/fs.ts';
import type { InstallError } from '../errors.ts';
import { copyShims } from './copy.ts';
import { planShims } from './manifest.ts';
import {
  bundleListing,
  SHIMS_MANIFEST_SCHEMA,
  type ShippedBundle,
} from '../../formats/shims-manifest.ts';

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const PLACEHOLDER = `/bundle-root${'_'.repeat(60)}`;
const BIN_DIR = '/opt/wasm-node/bin';
const CRUN = resolveRuntimes(['crun-wasm']);

let work: string;
let shimsDir: string;
let hostRoot: string;

/** A crun-wasm bundle in the shims dir: an "interpreter path" to relocate and a library. */
function writeBundle(edit: (b: ShippedBundle & { sha256?: string }) => void = () => {}) {
  const files = {
    'bin/crun': `ELF\0${PLACEHOLDER}/lib/ld.so\0`,
    'lib/libwasmedge.so.0': 'a library',
  };
  const bundle: ShippedBundle & { sha256?: string } = {
    dir: 'crun-wasm',
    placeholder: PLACEHOLDER,
    relocate: ['bin/crun'],
    files: Object.entries(files).map(([path, content]) => ({
      path,
      sha256: sha256(content),
      mode: path.startsWith('bin/') ? 0o755 : 0o644,
    })),
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(shimsDir, 'crun-wasm', path, '..'), { recursive: true });
    writeFileSync(join(shimsDir, 'crun-wasm', path), content);
  }
  edit(bundle);
  const { sha256: forced, ...shipped } = bundle;
  writeFileSync(
    join(shimsDir, 'manifest.json'),
    JSON.stringify({
      schema: SHIMS_MANIFEST_SCHEMA,
      runtimes: [
        {
          name: 'crun-wasm',
          version: '1.21-1',
          binary: 'crun',
          sha256: forced ?? sha256(bundleListing(shipped.files)),
          bundle: shipped,
        },
      ],
    }),
  );
}

const plan = (binDir = BIN_DIR) => planShims(CRUN, { shimsDir, binDir });
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as InstallError,
  );

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'shim-install-'));
  shimsDir = join(work, 'shims');
  hostRoot = join(work, 'host');
  mkdirSync(hostRoot);
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

describe('a bundled runtime (crun-wasm)', () => {
  it('plans the binary inside a directory named after the bundle listing', async () => {
    writeBundle();
    const [p] = await plan();
    const manifest = JSON.parse(readFileSync(join(shimsDir, 'manifest.json'), 'utf8'));
    expect(p?.sha256).toBe(sha256(bundleListing(manifest.runtimes[0].bundle.files)));
    expect(p?.path).toBe(`${BIN_DIR}/${p?.sha256.slice(0, 16)}/bin/crun`);
    expect(p?.bundle?.files.map((f) => [f.path, f.relocate])).toEqual([
      [`${BIN_DIR}/${p?.sha256.slice(0, 16)}/bin/crun`, true],
      [`${BIN_DIR}/${p?.sha256.slice(0, 16)}/lib/libwasmedge.so.0`, false],
    ]);
  });

  it('copies it with its modes, rewriting the placeholder to the install root; a second copy writes nothing', async () => {
    writeBundle();
    const plans = await plan();
    const fs = nodeHostFs(hostRoot);
    const root = plans[0]!.bundle!.root;
    expect(await copyShims(plans, BIN_DIR, fs)).toEqual([root]);
    const crun = readFileSync(fs.local(`${root}/bin/crun`));
    expect(crun.toString('latin1').split('\0')[1]).toBe(`${root}/lib/ld.so`);
    expect(crun.length).toBe(`ELF\0${PLACEHOLDER}/lib/ld.so\0`.length);
    expect(statSync(fs.local(`${root}/bin/crun`)).mode & 0o777).toBe(0o755);
    expect(statSync(fs.local(`${root}/lib/libwasmedge.so.0`)).mode & 0o777).toBe(0o644);
    expect(await copyShims(plans, BIN_DIR, fs)).toEqual([]);
  });

  it('completes a copy that was cut short', async () => {
    writeBundle();
    const plans = await plan();
    const fs = nodeHostFs(hostRoot);
    await copyShims(plans, BIN_DIR, fs);
    const lib = `${plans[0]!.bundle!.root}/lib/libwasmedge.so.0`;
    writeFileSync(fs.local(lib), 'a libr');
    expect(await copyShims(plans, BIN_DIR, fs)).toEqual([plans[0]!.bundle!.root]);
    expect(readFileSync(fs.local(lib), 'utf8')).toBe('a library');
  });

  it('refuses a tampered file before anything reaches the node', async () => {
    writeBundle();
    writeFileSync(join(shimsDir, 'crun-wasm/lib/libwasmedge.so.0'), 'a library, patched');
    const err = await refusal(plan());
    expect(err?.code).toBe('checksum-mismatch');
    expect(err?.message).toContain('lib/libwasmedge.so.0 of the bundle crun-wasm');
  });

  it('refuses a file list that does not hash to the entry, or lacks the binary', async () => {
    writeBundle((b) => (b.sha256 = sha256('another listing')));
    expect((await refusal(plan()))?.message).toMatch(/file list .* hashes to [0-9a-f]{64}/);
    writeBundle((b) => (b.files = b.files.filter((f) => f.path !== 'bin/crun')));
    const err = await refusal(plan());
    expect(err?.code).toBe('manifest-invalid');
    expect(err?.message).toContain('does not list bin/crun');
  });

  it('refuses a bin dir too long for the reserved placeholder, naming the limit', async () => {
    writeBundle();
    const err = await refusal(plan(`/${'x'.repeat(PLACEHOLDER.length)}`));
    expect(err?.code).toBe('bin-dir-too-long');
    expect(err?.message).toContain(`at most ${PLACEHOLDER.length} bytes`);
  });
});
