import * as z from 'zod';
import { ConfigSchema } from '../operator/config.ts';

interface Node {
  type?: string;
  properties?: Record<string, Node>;
  default?: unknown;
  description?: string;
}

/** A default as YAML would show it, in one line: `30s`, `[wasmtime, spin]`, `{cpu: 50m}`. */
function shown(value: unknown): string {
  if (value === undefined) return 'unset';
  const inline = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
    if (v && typeof v === 'object')
      return `{${Object.entries(v)
        .map(([k, x]) => `${k}: ${inline(x)}`)
        .join(', ')}}`;
    return v === '' ? '""' : String(v);
  };
  return `\`${inline(value)}\``;
}

/** One row per leaf field; a group's description (`retry backoff…`) prefixes its fields'. */
function rows(node: Node, prefix: string, group?: string): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    const about = [group, child.description].filter(Boolean).join(': ');
    if (child.type === 'object' && child.properties) return rows(child, `${path}.`, about);
    return [`| \`${path}\` | ${shown(child.default)} | ${about.replace(/\|/g, '\\|')} |`];
  });
}

/** The config table of docs/operator-reference.md, from ConfigSchema's defaults and descriptions. */
export function renderConfigTable(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Node;
  return ['| field | default | meaning |', '|---|---|---|', ...rows(schema, '')].join('\n');
}

export const TABLE_START =
  '<!-- config table: generated from src/operator/config.ts by npm run manifests; do not edit -->';
export const TABLE_END = '<!-- end of config table -->';

/** The reference document with its config table replaced by the generated one. */
export function withConfigTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error('docs/operator-reference.md lost its table markers');
  return `${doc.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${doc.slice(end)}`;
}
