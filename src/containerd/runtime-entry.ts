import type { Runtime } from '../catalog/runtimes.ts';
import type { CriNamespace } from './config-layout.ts';

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

/** TOML text for one runtime: a table header per level, two-space indented keys. */
export function renderEntry(install: RuntimeInstall, settings: EntrySettings): string {
  const header = `plugins.${key(settings.namespace)}.containerd.runtimes.${key(install.runtime.name)}`;
  const lines = [`[${header}]`];
  const { options, ...fields } = desiredEntry(install, settings.systemdCgroup);
  for (const [k, v] of Object.entries(fields)) lines.push(`  ${k} = ${scalar(v)}`);
  if (options !== undefined) {
    lines.push(`[${header}.options]`);
    for (const [k, v] of Object.entries(options as Record<string, unknown>)) {
      lines.push(`  ${k} = ${scalar(v)}`);
    }
  }
  return lines.join('\n');
}
