// Bundles the operator and the installer into one ESM file each (npm run bundle): the images
// then need only a Node 24 binary, no node_modules.
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };

const entries = {
  'wasm-node-installer': 'src/installer/cli/main.ts',
  'wasm-node-operator': 'src/operator/main.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // CommonJS dependencies (pino, prom-client, js-yaml's dependents) call require(), which an
  // ES module lacks; esbuild's shim uses this one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  // `wasm-node-installer --version` (src/installer/cli/run-cli.ts).
  define: { 'process.env.WASM_NODE_VERSION': JSON.stringify(version) },
  legalComments: 'linked',
  logLevel: 'info',
});
