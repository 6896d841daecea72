import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { load } from 'js-yaml';
import * as z from 'zod';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { ConfigSchema, parseConfig } from '../operator/config.ts';

// The chart's `config` values are the operator's config file: the same names and defaults, so
// the chart documents the operator and nothing is renamed on the way.
const chart = (file: string) => new URL(`../../charts/wasm-node-operator/${file}`, import.meta.url);

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
}

/** Property paths of a JSON schema, e.g. ["optIn", "optIn.annotation", ...]; follows local $refs. */
function paths(schema: JsonSchema, root: JsonSchema = schema, prefix = ''): string[] {
  const resolved = schema.$ref
    ? (root.definitions?.[schema.$ref.replace('#/definitions/', '')] ?? {})
    : schema;
  return Object.entries(resolved.properties ?? {}).flatMap(([key, sub]) => [
    `${prefix}${key}`,
    ...paths(sub, root, `${prefix}${key}.`),
  ]);
}

/** Set by the chart itself: the release namespace and the installer image values. */
const CHART_OWNED = ['namespace', 'installer.image'];

describe('chart config values', () => {
  it('have exactly the fields of the operator ConfigSchema', async () => {
    const valuesSchema = JSON.parse(
      await readFile(chart('values.schema.json'), 'utf8'),
    ) as JsonSchema;
    const operator = z.toJSONSchema(ConfigSchema, {
      io: 'input',
      unrepresentable: 'any',
    }) as JsonSchema;
    const expected = paths(operator).filter((p) => !CHART_OWNED.includes(p));
    expect(paths(valuesSchema.properties!.config!, valuesSchema).sort()).toEqual(expected.sort());
  });

  it('default to the operator defaults', async () => {
    const values = load(await readFile(chart('values.yaml'), 'utf8')) as {
      config: Record<string, unknown>;
    };
    const owned = { namespace: 'ns', installer: { image: 'img' } };
    const fromChart = parseConfig({
      ...values.config,
      ...owned,
      installer: { ...(values.config.installer as object), ...owned.installer },
    });
    expect(fromChart).toEqual(parseConfig(owned));
  });

  it('offer exactly the catalog runtimes', async () => {
    const valuesSchema = JSON.parse(await readFile(chart('values.schema.json'), 'utf8')) as {
      properties: { config: { properties: { runtimes: JsonSchema } } };
    };
    expect(valuesSchema.properties.config.properties.runtimes.items?.enum).toEqual(RUNTIME_NAMES);
  });
});
