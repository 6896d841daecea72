import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './config-error.ts';

export type TomlTable = Record<string, unknown>;

export function isTable(value: unknown): value is TomlTable {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

/** Follows `path` through nested tables; undefined when any step is missing or not a table. */
export function tableAt(doc: TomlTable, path: readonly string[]): TomlTable | undefined {
  let cur: unknown = doc;
  for (const key of path) {
    if (!isTable(cur)) return undefined;
    cur = cur[key];
  }
  return isTable(cur) ? cur : undefined;
}

export function parseToml(text: string): TomlTable {
  try {
    // Integers as BigInt: containerd configs hold values beyond 2^53 (e.g. max message sizes).
    return parse(text, { integersAsBigInt: 'asNeeded' });
  } catch (err) {
    const detail =
      err instanceof TomlError
        ? `${err.message.split('\n')[0]} (line ${err.line}, column ${err.column})`
        : String(err);
    throw new ConfigError('invalid-toml', `not valid TOML: ${detail}`);
  }
}

/**
 * A stable text form of parsed TOML for equality checks: sorted keys, BigInts and dates kept
 * distinct. Prototype-free, so values from different realms (tests run in a VM context) compare.
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (isTable(v))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, v[k]]),
      );
    return v;
  });
}
