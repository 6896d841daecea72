// Bundles the operator and the installer into one ESM file each (npm run bundle): the images
// then need only a Node 24 binary, no node_modules.
import { build } from 'esbuild';

const entries = {
  'wasm-node-installer': 'src/installer/main.ts',
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
  legalComments: 'linked',
  logLevel: 'info',
});
