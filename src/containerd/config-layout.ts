import { ConfigError } from './config-error.ts';
import { tableAt, type TomlTable } from './toml-table.ts';

/**
 * Plugin IDs that hold CRI runtime entries, by config schema: v1 files use short IDs, v2 the
 * grpc CRI plugin, v3/v4 (containerd 2.x) the split-out runtime plugin.
 */
export const CRI_NAMESPACES = {
  v1: 'cri',
  v2: 'io.containerd.grpc.v1.cri',
  v3: 'io.containerd.cri.v1.runtime',
} as const;
export type CriNamespace = (typeof CRI_NAMESPACES)[keyof typeof CRI_NAMESPACES];

export interface ConfigLayout {
  /** The file's `version` key; a file without one is version 1. */
  version: 1 | 2 | 3 | 4;
  namespace: CriNamespace;
  /** Path of the `runtimes` table, e.g. ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes']. */
  runtimesPath: string[];
  /** The runtimes already defined in the file, by handler name. */
  runtimes: TomlTable;
  /** runc's explicit `SystemdCgroup`, which our Wasm runtimes must match; undefined when runc leaves the default. */
  runcSystemdCgroup: boolean | undefined;
  warnings: string[];
}

function readVersion(doc: TomlTable): ConfigLayout['version'] {
  const v = doc['version'];
  if (v === undefined) return 1;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (n === 1 || n === 2 || n === 3 || n === 4) return n;
  throw new ConfigError(
    'unsupported-version',
    `config version ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)} is not one containerd knows (1, 2, 3 or 4)`,
  );
}

/** True when plugins.<id>.containerd is present: where CRI runtime settings live in that namespace. */
function holdsRuntimeSettings(doc: TomlTable, id: string): boolean {
  return tableAt(doc, ['plugins', id, 'containerd']) !== undefined;
}

/**
 * Chooses the CRI namespace from the tables actually present, never from substrings or the
 * containerd version: real files pair a `version = 2` header with v3 IDs (AKS) and containerd
 * 2.x with v2 files (kind, microk8s). Writing into the other namespace silently loses either
 * our runtime or the file's own runtime settings, so mixed files are refused.
 */
function chooseNamespace(doc: TomlTable, version: ConfigLayout['version']): CriNamespace {
  const present = (Object.values(CRI_NAMESPACES) as CriNamespace[]).filter((ns) =>
    holdsRuntimeSettings(doc, ns),
  );
  if (present.length > 1) {
    throw new ConfigError(
      'ambiguous-namespace',
      `CRI runtime settings appear under more than one plugin ID (${present.join(', ')}); containerd honours only one of them, so fix the file before adding runtimes`,
    );
  }
  const [found] = present;
  if (found === CRI_NAMESPACES.v1 && version !== 1) {
    throw new ConfigError(
      'ambiguous-namespace',
      `plugins.cri (a version 1 plugin ID) is used in a version ${version} file, which containerd rejects; use plugins."io.containerd.grpc.v1.cri"`,
    );
  }
  if (found === CRI_NAMESPACES.v2 && version >= 3) {
    throw new ConfigError(
      'ambiguous-namespace',
      `plugins."io.containerd.grpc.v1.cri".containerd is set in a version ${version} file, where containerd 2.x ignores it; move it to plugins."io.containerd.cri.v1.runtime" (containerd config migrate) first`,
    );
  }
  if (found !== undefined) return found;
  if (version >= 3) return CRI_NAMESPACES.v3;
  return version === 2 ? CRI_NAMESPACES.v2 : CRI_NAMESPACES.v1;
}

export function detectLayout(doc: TomlTable): ConfigLayout {
  const version = readVersion(doc);
  const namespace = chooseNamespace(doc, version);
  const runtimesPath = ['plugins', namespace, 'containerd', 'runtimes'];
  const runtimes = tableAt(doc, runtimesPath) ?? {};
  const runcOptions = tableAt(runtimes, ['runc', 'options']);
  const systemd = runcOptions?.['SystemdCgroup'];
  const warnings: string[] = [];
  if (version === 1) {
    warnings.push(
      'version 1 config (no version key): containerd 2.0-2.2 ignore its CRI section; consider `containerd config migrate`',
    );
  }
  return {
    version,
    namespace,
    runtimesPath,
    runtimes,
    runcSystemdCgroup: typeof systemd === 'boolean' ? systemd : undefined,
    warnings,
  };
}
