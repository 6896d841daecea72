// The installer image's shim stage: node scripts/fetch-shims.ts --arch amd64 --runtimes
// wasmtime,spin --out /out/shims [--bundles DIR] [--versions FILE]. Takes each runtime found
// in DIR (bundles built by earlier image stages, or a build's local inputs) from there, and
// downloads and verifies the rest as FILE (default installer-image/versions.json) pins them.
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fetchShims } from '../src/packaging/fetch-shims.ts';
import { ARCHES, loadShimVersions, type Arch } from '../src/packaging/shim-versions.ts';

const { values } = parseArgs({
  options: {
    arch: { type: 'string' },
    runtimes: { type: 'string' },
    out: { type: 'string' },
    bundles: { type: 'string' },
    versions: { type: 'string' },
  },
});
const arch = values.arch as Arch;
if (!ARCHES.includes(arch) || !values.runtimes || !values.out) {
  console.error(
    `usage: fetch-shims.ts --arch ${ARCHES.join('|')} --runtimes a,b --out DIR [--bundles DIR] [--versions FILE]`,
  );
  process.exit(2);
}
await mkdir(values.out, { recursive: true });
const manifest = await fetchShims({
  versions: await loadShimVersions(values.versions),
  arch,
  runtimes: values.runtimes.split(','),
  outDir: values.out,
  bundlesDir: values.bundles,
});
for (const r of manifest.runtimes) console.log(`${r.binary} ${r.version} sha256:${r.sha256}`);
