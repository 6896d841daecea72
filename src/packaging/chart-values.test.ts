import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { parseConfig } from '../operator/config.ts';
import { ChartValuesSchema, renderValuesSchema } from './chart-values-schema.ts';
import { renderConfigTable, withConfigTable } from './config-reference.ts';

// The chart's `config` values are the operator's config file: the same names and defaults, so
// the chart documents the operator and nothing is renamed on the way. The schema and the docs'
// table are generated from ConfigSchema; these tests fail when a generated file drifted.
const repo = (file: string) => new URL(`../../${file}`, import.meta.url);
const DRIFT = 'generated from src/operator/config.ts: run npm run manifests';

describe('chart values', () => {
  it(`values.schema.json is the one ${DRIFT}`, async () => {
    const file = await readFile(repo('charts/wasm-node-operator/values.schema.json'), 'utf8');
    expect({ file, message: DRIFT }).toEqual({ file: renderValuesSchema(), message: DRIFT });
  });

  it(`the config table of docs/operator-reference.md is the one ${DRIFT}`, async () => {
    const doc = await readFile(repo('docs/operator-reference.md'), 'utf8');
    expect({ doc, message: DRIFT }).toEqual({ doc: withConfigTable(doc), message: DRIFT });
    expect(renderConfigTable()).toContain('| `rollout.failureBudget` | `3` |');
  });

  it('values.yaml passes the schema and defaults to the operator defaults', async () => {
    const values = load(await readFile(repo('charts/wasm-node-operator/values.yaml'), 'utf8')) as {
      config: { installer: object };
    };
    expect(ChartValuesSchema.safeParse(values).error).toBeUndefined();
    const owned = { namespace: 'ns', installer: { image: 'img' } };
    const fromChart = parseConfig({
      ...values.config,
      ...owned,
      installer: { ...values.config.installer, ...owned.installer },
    });
    expect(fromChart).toEqual(parseConfig(owned));
  });

  it('offer exactly the catalog runtimes', () => {
    const schema = JSON.parse(renderValuesSchema()) as {
      properties: { config: { properties: { runtimes: { items: { enum: string[] } } } } };
    };
    expect(schema.properties.config.properties.runtimes.items.enum).toEqual(RUNTIME_NAMES);
  });
});
