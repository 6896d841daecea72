import { basename } from 'node:path';
import type { HostProcess } from '../host/proc.ts';
import { InstallError } from '../errors.ts';

export const DEFAULT_CONFIG = '/etc/containerd/config.toml';
export const DEFAULT_ADDRESS = '/run/containerd/containerd.sock';
export const DEFAULT_STATE = '/run/containerd';

/** The containerd that runs the node's pods, as found in /proc. */
export interface ContainerdInstance {
  pid: number;
  /** Its binary, /proc/PID/exe: the file behind every symlink (k3s: data/<hash>/bin/k3s). */
  exe: string;
  /**
   * The path to run it by for `--version` and `config default|dump`, so that the running
   * release answers: the name it was started by (k3s' multicall binary dispatches on it).
   */
  command: string;
  configPath: string;
  address: string;
  /** Its state directory, where the runc shim keeps each task's options (options.json). */
  statePath: string;
  /** Its PATH, where it looks up shims that have no runtime_path. */
  path: string | undefined;
  /** Command lines of its ancestors, nearest first: tells k3s, RKE2, MicroK8s and k0s apart. */
  ancestors: string[][];
}

function flag(args: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    for (const n of names) {
      if (a === n) return args[i + 1];
      if (a.startsWith(`${n}=`)) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

const isContainerd = (p: HostProcess) =>
  basename(p.args[0] ?? '') === 'containerd' || basename(p.exe ?? '') === 'containerd';

/** `unix:///run/x.sock` or `/run/x.sock` → `/run/x.sock`. */
export function socketPath(endpoint: string): string {
  return endpoint.replace(/^unix:\/\//, '');
}

export function kubeletEndpointFlag(procs: readonly HostProcess[]): {
  endpoint?: string;
  configFile?: string;
} {
  const kubelet = procs.find((p) => basename(p.args[0] ?? '') === 'kubelet');
  if (kubelet === undefined) return {};
  const endpoint = flag(kubelet.args, ['--container-runtime-endpoint']);
  const configFile = flag(kubelet.args, ['--config']);
  return { ...(endpoint && { endpoint: socketPath(endpoint) }), ...(configFile && { configFile }) };
}

function ancestry(procs: readonly HostProcess[], pid: number): string[][] {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const chain: string[][] = [];
  let cur = byPid.get(byPid.get(pid)?.ppid ?? 0);
  while (cur !== undefined && chain.length < 16) {
    chain.push(cur.args);
    cur = cur.pid === cur.ppid ? undefined : byPid.get(cur.ppid);
  }
  return chain;
}

/** The config files of running containerds: their socket may be set there rather than by flag. */
export function containerdConfigPaths(procs: readonly HostProcess[]): string[] {
  return procs.filter(isContainerd).map((p) => flag(p.args, ['--config', '-c']) ?? DEFAULT_CONFIG);
}

/**
 * The gRPC socket a config sets: `[grpc] address` up to config version 3, the server plugin's
 * table from version 4 (containerd 2.3) on.
 */
export function configAddress(doc: Record<string, unknown>): string | undefined {
  const grpc = doc['grpc'] as Record<string, unknown> | undefined;
  const plugins = doc['plugins'] as Record<string, Record<string, unknown>> | undefined;
  const address = grpc?.['address'] ?? plugins?.['io.containerd.server.v1.grpc']?.['address'];
  return typeof address === 'string' && address !== '' ? address : undefined;
}

/**
 * Where the name containerd was started by may be, when its binary is not containerd itself:
 * its argv[0] if a path, else that name in each directory of its PATH (k3s starts `containerd`
 * with its data/<hash>/bin first on PATH, where `containerd` links to the k3s binary).
 */
export function commandCandidates(p: HostProcess): string[] {
  const name = p.args[0] ?? '';
  if (basename(p.exe ?? '') === 'containerd' || name === '') return [];
  if (name.startsWith('/')) return [name];
  if (name.includes('/')) return [];
  return (p.path ?? '')
    .split(':')
    .filter((dir) => dir.startsWith('/'))
    .map((dir) => `${dir.replace(/\/+$/, '')}/${name}`);
}

/** Containerd processes among `procs` (never a shim). */
export const containerdProcesses = (procs: readonly HostProcess[]) => procs.filter(isContainerd);

/** What a containerd's config file sets that its flags may override. */
export interface ConfigSettings {
  address?: string | undefined;
  state?: string | undefined;
}

/** The socket and state directory a parsed config sets. */
export function configSettings(doc: Record<string, unknown>): ConfigSettings {
  const state = doc['state'];
  return { address: configAddress(doc), state: typeof state === 'string' ? state : undefined };
}

/**
 * Every containerd in `procs`, with flags resolved; `settingsIn` reads a config's settings,
 * `exists` says which commandCandidates() exist on the host.
 */
export function containerdInstances(
  procs: readonly HostProcess[],
  settingsIn: (configPath: string) => ConfigSettings,
  exists: (path: string) => boolean = () => false,
): ContainerdInstance[] {
  return procs.filter(isContainerd).map((p) => {
    const configPath = flag(p.args, ['--config', '-c']) ?? DEFAULT_CONFIG;
    const exe = p.exe ?? p.args[0] ?? 'containerd';
    return {
      pid: p.pid,
      exe,
      command: commandCandidates(p).find(exists) ?? exe,
      configPath,
      address:
        flag(p.args, ['--address', '-a']) ?? settingsIn(configPath).address ?? DEFAULT_ADDRESS,
      statePath: flag(p.args, ['--state']) ?? settingsIn(configPath).state ?? DEFAULT_STATE,
      path: p.path,
      ancestors: ancestry(procs, p.pid),
    };
  });
}

/**
 * Picks the containerd whose socket was asked for, else the one the kubelet talks to, else the
 * only one when no kubelet says. Nodes can run several (Docker's own containerd beside the
 * kubelet's), and editing the wrong one would report success while pods never see the runtime.
 * Addresses are compared as real host paths (the caller resolves /var/run to /run).
 */
export function selectContainerd(
  candidates: readonly ContainerdInstance[],
  want: { socket?: string | undefined; kubeletEndpoint?: string | undefined },
): ContainerdInstance {
  if (candidates.length === 0) {
    throw new InstallError(
      'containerd-not-found',
      'no containerd process found on the node (is the pod running with hostPID: true? is the node using CRI-O?)',
    );
  }
  const serving = candidates.map((c) => c.address).join(', ');
  if (want.socket !== undefined) {
    const match = candidates.find((c) => c.address === want.socket);
    if (match) return match;
    throw new InstallError(
      'containerd-not-found',
      `no containerd serves ${want.socket}; running ones serve ${serving}`,
    );
  }
  if (want.kubeletEndpoint !== undefined) {
    const match = candidates.find((c) => c.address === want.kubeletEndpoint);
    if (match) return match;
    throw new InstallError(
      'runtime-endpoint-mismatch',
      `the kubelet runs pods through ${want.kubeletEndpoint}, which no containerd serves (containerd serves ${serving}, e.g. Docker's own with CRI disabled): this node's runtime is another one (cri-dockerd, CRI-O), which the installer does not change`,
    );
  }
  const [only, ...others] = candidates;
  if (only !== undefined && others.length === 0) return only;
  throw new InstallError(
    'containerd-ambiguous',
    `${candidates.length} containerd processes serve ${serving} and no kubelet says which it uses; pass --containerd-socket`,
  );
}
