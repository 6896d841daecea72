import type { Runtime } from '../catalog/runtimes.ts';
import type { CriNamespace } from './config-layout.ts';
import { isTable, type TomlTable } from './toml-table.ts';

export interface RuntimeInstall {
  runtime: Runtime;
  /** Absolute host path of the installed binary; omitted, containerd looks the shim up on its PATH. */
  binaryPath?: string | undefined;
  /**
   * false: no options table for a shim. containerd before 1.7 hands a shim runtime's options
   * to the shim as an empty runtimeoptions message (it keeps none of runc's keys), which runwasi
   * shims reject ("invalid shim options: missing field systemd_cgroup"); without options they
   * get none and use their defaults. 1.7 passes the whole table as the message's TOML body.
   */
  shimOptions?: boolean | undefined;
}

export interface EntrySettings {
  namespace: CriNamespace;
  /** Mirrors runc's setting so the Wasm runtime uses the same cgroup driver as the kubelet. */
  systemdCgroup: boolean | undefined;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;
const key = (k: string): string => (BARE_KEY.test(k) ? k : JSON.stringify(k));
// A JSON string of plain text is a valid TOML basic string.
const str = (s: string): string => JSON.stringify(s);

/** The values containerd will see for this runtime, as a parsed TOML table would hold them. */
export function desiredEntry(install: RuntimeInstall, systemdCgroup: boolean | undefined) {
  const { runtime, binaryPath } = install;
  const options: Record<string, unknown> = {};
  if (runtime.launch === 'runc-binary') options['BinaryName'] = binaryPath ?? runtime.binary;
  const withOptions = runtime.launch !== 'shim' || install.shimOptions !== false;
  if (systemdCgroup !== undefined && withOptions) options['SystemdCgroup'] = systemdCgroup;
  const entry: Record<string, unknown> = { runtime_type: runtime.runtimeType };
  if (runtime.launch === 'shim' && binaryPath !== undefined) entry['runtime_path'] = binaryPath;
  if (runtime.podAnnotations.length > 0) entry['pod_annotations'] = [...runtime.podAnnotations];
  if (Object.keys(options).length > 0) entry['options'] = options;
  return entry;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value)) return `[${value.map(scalar).join(', ')}]`;
  return String(value);
}

/** TOML text for one runtime entry: a table header per level, two-space indented keys. */
export function renderRuntime(namespace: CriNamespace, name: string, entry: TomlTable): string {
  const header = `plugins.${key(namespace)}.containerd.runtimes.${key(name)}`;
  const lines = [`[${header}]`];
  const { options, ...fields } = entry;
  for (const [k, v] of Object.entries(fields)) lines.push(`  ${key(k)} = ${scalar(v)}`);
  if (isTable(options)) {
    lines.push(`[${header}.options]`);
    for (const [k, v] of Object.entries(options)) lines.push(`  ${key(k)} = ${scalar(v)}`);
  }
  return lines.join('\n');
}

/** TOML text for one of our runtimes. */
export function renderEntry(install: RuntimeInstall, settings: EntrySettings): string {
  return renderRuntime(
    settings.namespace,
    install.runtime.name,
    desiredEntry(install, settings.systemdCgroup),
  );
}

const isZero = (v: unknown) =>
  v === '' || v === false || v === 0 || v === 0n || (Array.isArray(v) && v.length === 0);

/**
 * The entry a file must declare so that containerd reads back `effective` (an entry of its
 * `config dump`): fields left out decode to their zero value, so only the others are written;
 * `options` is a free-form map that keeps exactly the keys written, so it is kept whole.
 */
export function declaredEntry(effective: TomlTable): TomlTable {
  return Object.fromEntries(
    Object.entries(effective).filter(([k, v]) => k === 'options' || !isZero(v)),
  );
}
