import { readFile } from 'node:fs/promises';
import { load } from 'js-yaml';
import { parseConfig, type Config } from './config.ts';

/** Environment variables the Deployment sets through the downward API or the chart. */
const ENV_PATHS: Record<string, string> = {
  POD_NAMESPACE: 'namespace',
  WASM_NODE_INSTALLER_IMAGE: 'installer.image',
  LOG_LEVEL: 'logLevel',
};

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * `path=value` with the value read as YAML, so `--set rollout.failureBudget=2`,
 * `--set runtimes=[spin]` and `--set optIn.autoProvision=true` get their natural types.
 */
export function parseSetFlag(flag: string): { path: string; value: unknown } {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new Error(`--set expects path=value, got "${flag}"`);
  const raw = flag.slice(eq + 1);
  return { path: flag.slice(0, eq), value: raw === '' ? '' : load(raw) };
}

/**
 * Config precedence, lowest first: YAML file (the chart's ConfigMap), env, `--set` flags.
 * Read once at startup; a changed ConfigMap rolls the Deployment (see ADR 0102).
 */
export async function loadConfig(opts: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  sets?: readonly string[];
}): Promise<Config> {
  const tree: Tree = opts.file
    ? ((load(await readFile(opts.file, 'utf8')) as Tree | null) ?? {})
    : {};
  for (const [name, path] of Object.entries(ENV_PATHS)) {
    const value = opts.env?.[name];
    if (value) setPath(tree, path, value);
  }
  for (const flag of opts.sets ?? []) {
    const { path, value } = parseSetFlag(flag);
    setPath(tree, path, value);
  }
  return parseConfig(tree);
}
