// Writes what is generated from the operator's ConfigSchema (run by npm run manifests):
// the chart's values.schema.json and the config table of docs/operator-reference.md.
import { readFile, writeFile } from 'node:fs/promises';
import { renderValuesSchema } from '../src/packaging/chart-values-schema.ts';
import { withConfigTable } from '../src/packaging/config-reference.ts';

const root = new URL('..', import.meta.url);
const schemaFile = new URL('charts/wasm-node-operator/values.schema.json', root);
const docFile = new URL('docs/operator-reference.md', root);

await writeFile(schemaFile, renderValuesSchema());
await writeFile(docFile, withConfigTable(await readFile(docFile, 'utf8')));
