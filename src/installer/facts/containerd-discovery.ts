import { parseToml } from '../../containerd/toml-table.ts';
import type { HostFs } from '../host/fs.ts';
import type { HostProcess } from '../host/proc.ts';
import {
  commandCandidates,
  configSettings,
  containerdConfigPaths,
  containerdInstances,
  containerdProcesses,
  kubeletEndpointFlag,
  selectContainerd,
  socketPath,
  type ConfigSettings,
  type ContainerdInstance,
} from './containerd-instance.ts';

/**
 * Running containerds, with the socket each one's config sets when no flag does, as the real
 * host path (links resolved), which is how sockets are compared.
 */
export async function findContainerds(
  fs: HostFs,
  procs: readonly HostProcess[],
): Promise<ContainerdInstance[]> {
  const settings = new Map<string, ConfigSettings>();
  for (const path of containerdConfigPaths(procs)) {
    const text = (await fs.readText(path).catch(() => undefined)) ?? '';
    try {
      settings.set(path, configSettings(parseToml(text)));
    } catch {
      // Broken on disk since containerd read it: its lines still tell the socket and state.
      const value = (re: RegExp) => re.exec(text)?.[1];
      settings.set(path, {
        address: value(/^\s*\[grpc\][^[]*?^\s*address\s*=\s*["']([^"']+)["']/ms),
        state: value(/^state\s*=\s*["']([^"']+)["']/m),
      });
    }
  }
  const existing = new Set<string>();
  for (const p of containerdProcesses(procs))
    for (const c of commandCandidates(p)) if (await fs.exists(c)) existing.add(c);
  const found = containerdInstances(
    procs,
    (path) => settings.get(path) ?? {},
    (path) => existing.has(path),
  );
  return Promise.all(found.map(async (c) => ({ ...c, address: await fs.realpath(c.address) })));
}

/** The socket the kubelet runs pods through: its flag, else its config file's key. */
async function kubeletEndpoint(
  fs: HostFs,
  procs: readonly HostProcess[],
): Promise<string | undefined> {
  const kubelet = kubeletEndpointFlag(procs);
  if (kubelet.endpoint !== undefined || kubelet.configFile === undefined) return kubelet.endpoint;
  const yaml = (await fs.readText(kubelet.configFile).catch(() => undefined)) ?? '';
  const m = /^containerRuntimeEndpoint:\s*["']?([^"'\s]+)/m.exec(yaml);
  return m ? socketPath(m[1] as string) : undefined;
}

/** The containerd this node's pods run on (or the one asked for), sockets compared as real paths. */
export async function nodeContainerd(
  fs: HostFs,
  procs: readonly HostProcess[],
  socket: string | undefined,
): Promise<ContainerdInstance> {
  const real = async (p: string | undefined) => (p === undefined ? undefined : fs.realpath(p));
  return selectContainerd(await findContainerds(fs, procs), {
    socket: await real(socket),
    kubeletEndpoint: await real(await kubeletEndpoint(fs, procs)),
  });
}
