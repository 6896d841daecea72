import { ConfigError } from './config-error.ts';
import { detectLayout, type ConfigLayout } from './config-layout.ts';
import { insertManagedBlock, splitManagedBlock } from './managed-block.ts';
import { desiredEntry, renderEntry, type RuntimeInstall } from './runtime-entry.ts';
import { canonical, isTable, parseToml, tableAt, type TomlTable } from './toml-table.ts';

export interface AdoptedRuntime {
  name: string;
  /** Where containerd will find the binary of the existing entry, if the entry says. */
  runtimePath: string | undefined;
}

export interface PatchResult {
  text: string;
  changed: boolean;
  version: ConfigLayout['version'];
  namespace: ConfigLayout['namespace'];
  /** Handlers our block defines. */
  written: string[];
  /** Handlers that already existed outside our block with equivalent settings, left as they were. */
  adopted: AdoptedRuntime[];
  warnings: string[];
}

export interface AddOptions {
  runtimes: readonly RuntimeInstall[];
  /** Overrides the value mirrored from runc. */
  systemdCgroup?: boolean | undefined;
}

/**
 * An entry we did not write may stand for ours when containerd would run the same thing:
 * k3s, for one, registers the shims it finds on PATH under these very names.
 */
function equivalent(existing: TomlTable, install: RuntimeInstall): boolean {
  const { runtime } = install;
  if (existing['runtime_type'] !== runtime.runtimeType) return false;
  const annotations = existing['pod_annotations'];
  const hasAnnotations = runtime.podAnnotations.every(
    (a) => Array.isArray(annotations) && annotations.includes(a),
  );
  if (!hasAnnotations) return false;
  if (runtime.launch === 'shim') return true;
  const binaryName = tableAt(existing, ['options'])?.['BinaryName'];
  return typeof binaryName === 'string' && binaryName.split('/').pop() === runtime.binary;
}

function classify(layout: ConfigLayout, installs: readonly RuntimeInstall[]) {
  const write: RuntimeInstall[] = [];
  const adopted: AdoptedRuntime[] = [];
  for (const install of installs) {
    const name = install.runtime.name;
    const existing = layout.runtimes[name];
    if (existing === undefined) {
      write.push(install);
    } else if (isTable(existing) && equivalent(existing, install)) {
      const path = existing['runtime_path'];
      adopted.push({ name, runtimePath: typeof path === 'string' ? path : undefined });
    } else {
      throw new ConfigError(
        'handler-conflict',
        `runtime handler "${name}" is already defined outside our block with different settings (${JSON.stringify(existing)}); remove or rename it, or leave "${name}" out of the requested runtimes`,
      );
    }
  }
  return { write, adopted };
}

/**
 * The parsed result with our handlers taken out again, including parent tables that only our
 * headers created: it must equal the parsed original, or the edit changed something else.
 */
function withoutHandlers(
  result: TomlTable,
  original: TomlTable,
  path: readonly string[],
  names: readonly string[],
): TomlTable {
  const copy = structuredClone(result);
  const runtimes = tableAt(copy, path);
  for (const name of names) delete runtimes?.[name];
  for (let depth = path.length; depth > 0; depth--) {
    const prefix = path.slice(0, depth);
    const table = tableAt(copy, prefix);
    if (table === undefined || Object.keys(table).length > 0 || tableAt(original, prefix)) break;
    const parent = tableAt(copy, prefix.slice(0, -1));
    delete parent?.[prefix[depth - 1] as string];
  }
  return copy;
}

function verify(
  text: string,
  original: TomlTable,
  layout: ConfigLayout,
  written: readonly RuntimeInstall[],
  systemdCgroup: boolean | undefined,
): void {
  let result: TomlTable;
  try {
    result = parseToml(text);
  } catch (err) {
    throw new ConfigError(
      'not-extendable',
      `adding [${layout.runtimesPath.join('.')}.<name>] tables makes the file invalid (${(err as Error).message}): the runtimes table or a parent is written as an inline table or with dotted keys, which a table header cannot extend; rewrite it as [table] sections first`,
    );
  }
  for (const install of written) {
    const got = tableAt(result, [...layout.runtimesPath, install.runtime.name]);
    if (canonical(got) !== canonical(desiredEntry(install, systemdCgroup))) {
      throw new ConfigError(
        'verification-failed',
        `after the edit, runtime "${install.runtime.name}" reads back as ${JSON.stringify(got)}; refusing to write a config that does not say what was intended`,
      );
    }
  }
  const names = written.map((w) => w.runtime.name);
  if (
    canonical(withoutHandlers(result, original, layout.runtimesPath, names)) !== canonical(original)
  ) {
    throw new ConfigError(
      'verification-failed',
      'the edit would change settings outside the runtimes it adds; refusing to write it',
    );
  }
}

/**
 * Adds (or updates) our runtimes in a containerd config, as a managed block at the end of the
 * file or where the block already is. Pure: text in, text out; the same input always gives
 * the same bytes, and a second run changes nothing.
 */
export function addRuntimes(text: string, options: AddOptions): PatchResult {
  parseToml(text);
  const { base, at } = splitManagedBlock(text);
  const original = parseToml(base);
  const layout = detectLayout(original);
  const { write, adopted } = classify(layout, options.runtimes);
  const systemdCgroup = options.systemdCgroup ?? layout.runcSystemdCgroup;
  const body = write
    .map((install) => renderEntry(install, { namespace: layout.namespace, systemdCgroup }))
    .join('\n');
  const next = write.length === 0 ? base : insertManagedBlock(base, at, body);
  verify(next, original, layout, write, systemdCgroup);
  return {
    text: next,
    changed: next !== text,
    version: layout.version,
    namespace: layout.namespace,
    written: write.map((w) => w.runtime.name),
    adopted,
    warnings: layout.warnings,
  };
}

/** Takes our block out again; the rest of the file is returned byte for byte. */
export function removeRuntimes(text: string): PatchResult {
  parseToml(text);
  const { base } = splitManagedBlock(text);
  const layout = detectLayout(parseToml(base));
  return {
    text: base,
    changed: base !== text,
    version: layout.version,
    namespace: layout.namespace,
    written: [],
    adopted: [],
    warnings: layout.warnings,
  };
}

/** The handlers our block in `text` defines (none when there is no block). */
export function ownedHandlers(text: string): string[] {
  const { base, block } = splitManagedBlock(text);
  if (block === undefined) return [];
  const layout = detectLayout(parseToml(base));
  return Object.keys(tableAt(parseToml(block), layout.runtimesPath) ?? {});
}
