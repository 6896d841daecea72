import { ConfigError } from './config-error.ts';
import { detectLayout, type ConfigLayout } from './config-layout.ts';
import { insertManagedBlock, splitManagedBlock } from './managed-block.ts';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { CRI_NAMESPACES } from './config-layout.ts';
import {
  declaredEntry,
  desiredEntry,
  renderEntry,
  renderRuntime,
  type RuntimeInstall,
} from './runtime-entry.ts';
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
  /** containerd's built-in runtimes our block declares so that they survive (see AddOptions.builtIn). */
  carried: string[];
  warnings: string[];
}

export interface AddOptions {
  runtimes: readonly RuntimeInstall[];
  /** Overrides the value mirrored from runc. */
  systemdCgroup?: boolean | undefined;
  /**
   * containerd's built-in runtimes as its `config dump` shows them, given when the release
   * forgets them once a file declares any runtime: containerd 1.6 and 1.7 decode a declared
   * `runtimes` table over the built-in map instead of merging into it, so a file that declares
   * none (Debian's and Ubuntu's shipped config) would lose runc with our first entry. Such a
   * file gets them in our block, declared so that they read back unchanged. (2.x merges.)
   */
  builtIn?: TomlTable | undefined;
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

/** Checks that `text` declares exactly `expected` (handler → entry) beyond `original`. */
function verify(
  text: string,
  original: TomlTable,
  layout: ConfigLayout,
  expected: ReadonlyMap<string, TomlTable>,
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
  for (const [name, entry] of expected) {
    const got = tableAt(result, [...layout.runtimesPath, name]);
    if (canonical(got) !== canonical(entry)) {
      throw new ConfigError(
        'verification-failed',
        `after the edit, runtime "${name}" reads back as ${canonical(got)}; refusing to write a config that does not say what was intended`,
      );
    }
  }
  const names = [...expected.keys()];
  if (
    canonical(withoutHandlers(result, original, layout.runtimesPath, names)) !== canonical(original)
  ) {
    throw new ConfigError(
      'verification-failed',
      'the edit would change settings outside the runtimes it adds; refusing to write it',
    );
  }
}

const CARRIED_NOTE =
  "# containerd's built-in runtimes, unchanged: containerd 1.x forgets them once a file declares any runtime";
const NO_BUILT_IN_WARNING =
  "the file declares no runtime: on containerd 1.6/1.7 a declared runtime replaces the built-in runc, so the installer also declares runc in the block, as the node's own `containerd config dump` shows it";

/**
 * The built-in runtimes to declare beside ours, by name, as they must be written. Those our
 * block already declares stay as they are, whatever the release now running: containerd
 * upgraded from 1.6 to 1.7 or 2.x reads them as before (1.7 defaults the sandbox mode they
 * lack, 2.x merges them over its own), and rewriting them would change what it reads.
 */
function carriedRuntimes(
  layout: ConfigLayout,
  block: string | undefined,
  writing: boolean,
  builtIn: TomlTable | undefined,
): Record<string, TomlTable> {
  // 1.x reads only v1/v2 plugin IDs; a file that declares a runtime already replaced the map.
  if (!writing || layout.namespace === CRI_NAMESPACES.v3 || Object.keys(layout.runtimes).length > 0)
    return {};
  const declared = tableAt(parseToml(block ?? ''), layout.runtimesPath) ?? {};
  const kept = Object.entries(declared).filter(([name]) => !RUNTIME_NAMES.includes(name));
  const carried = kept.length > 0 ? kept : Object.entries(builtIn ?? {});
  return Object.fromEntries(
    carried.flatMap(([name, entry]) => (isTable(entry) ? [[name, declaredEntry(entry)]] : [])),
  );
}

/**
 * Adds (or updates) our runtimes in a containerd config, as a managed block at the end of the
 * file or where the block already is. Pure: text in, text out; the same input always gives
 * the same bytes, and a second run changes nothing.
 */
export function addRuntimes(text: string, options: AddOptions): PatchResult {
  parseToml(text);
  const { base, at, block } = splitManagedBlock(text);
  const original = parseToml(base);
  const layout = detectLayout(original);
  const { write, adopted } = classify(layout, options.runtimes);
  const systemdCgroup = options.systemdCgroup ?? layout.runcSystemdCgroup;
  const carried = carriedRuntimes(layout, block, write.length > 0, options.builtIn);
  const carriedNote = Object.keys(carried).length > 0 ? [CARRIED_NOTE] : [];
  const body = [
    ...carriedNote,
    ...Object.entries(carried).map(([name, entry]) => renderRuntime(layout.namespace, name, entry)),
    ...write.map((install) => renderEntry(install, { namespace: layout.namespace, systemdCgroup })),
  ].join('\n');
  const next = write.length === 0 ? base : insertManagedBlock(base, at, body);
  const expected = new Map([
    ...Object.entries(carried),
    ...write.map((w): [string, TomlTable] => [w.runtime.name, desiredEntry(w, systemdCgroup)]),
  ]);
  verify(next, original, layout, expected);
  const unprotected =
    write.length > 0 &&
    Object.keys(carried).length === 0 &&
    layout.namespace !== CRI_NAMESPACES.v3 &&
    Object.keys(layout.runtimes).length === 0;
  return {
    text: next,
    changed: next !== text,
    version: layout.version,
    namespace: layout.namespace,
    written: write.map((w) => w.runtime.name),
    adopted,
    carried: Object.keys(carried),
    warnings: unprotected ? [...layout.warnings, NO_BUILT_IN_WARNING] : layout.warnings,
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
    carried: [],
    warnings: layout.warnings,
  };
}

/**
 * The handlers our block in `text` defines for our runtimes (none when there is no block):
 * catalog runtimes only, since a carried built-in (runc) is containerd's, not ours.
 */
export function ownedHandlers(text: string): string[] {
  const { base, block } = splitManagedBlock(text);
  if (block === undefined) return [];
  const layout = detectLayout(parseToml(base));
  return Object.keys(tableAt(parseToml(block), layout.runtimesPath) ?? {}).filter((name) =>
    RUNTIME_NAMES.includes(name),
  );
}
