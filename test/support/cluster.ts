import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { clusterMachine, type Machine } from './machines.ts';
import { run } from './run-command.ts';
import { repoPath } from './repo.ts';

/** A worker node: a systemd machine (e2e/machines) with its distribution's containerd. */
export const ClusterNodeSchema = z.object({
  name: z.string(),
  /** SUITE[:CONTAINERD] as requested, e.g. `trixie:v2.4.2`. */
  spec: z.string(),
  suite: z.enum(['bookworm', 'trixie']),
  /** `distro`, or the upstream release behind containerd.service. */
  containerd: z.string(),
  /** The machine's address on the cluster bridge: kubelet, hostNetwork pods. */
  address: z.string(),
  podSubnet: z.string(),
  /** As the node reported it when the cluster came up, e.g. containerd://1.6.20. */
  containerRuntimeVersion: z.string(),
});
export type ClusterNode = z.infer<typeof ClusterNodeSchema>;

/** $WORKDIR/cluster.json, written by e2e/cluster/up.sh once the cluster is healthy. */
export const ClusterInfoSchema = z.object({
  workDir: z.string(),
  kubeconfig: z.string(),
  server: z.string(),
  kubectl: z.string(),
  crictl: z.string(),
  kubernetesBinDir: z.string(),
  /** Where the node machines live (WASM_NODE_MACHINES_DIR of e2e/machines). */
  machinesDir: z.string(),
  bridge: z.string(),
  nodes: z.array(ClusterNodeSchema).min(1),
});
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;

// A cold machine builds Kubernetes, kubectl, crictl and the machines' rootfs first.
const UP_TIMEOUT_MS = 60 * 60_000;

export function clusterDir(): string {
  return process.env.WASM_NODE_CLUSTER_DIR ?? '/var/lib/wasm-node-e2e';
}

export function readClusterInfo(): ClusterInfo {
  return ClusterInfoSchema.parse(JSON.parse(readFileSync(`${clusterDir()}/cluster.json`, 'utf8')));
}

/**
 * Brings the local cluster up, or reuses it when it is up and healthy and its nodes begin with
 * the requested ones (`nodes`: SUITE[:CONTAINERD],...; default: the three of e2e/cluster/lib.sh).
 */
export async function ensureCluster(opts: { nodes?: string } = {}): Promise<ClusterInfo> {
  const args = opts.nodes ? ['--nodes', opts.nodes] : [];
  await run('bash', [repoPath('e2e/cluster/up.sh'), ...args], { timeoutMs: UP_TIMEOUT_MS });
  return readClusterInfo();
}

export async function clusterDown(): Promise<void> {
  await run('bash', [repoPath('e2e/cluster/down.sh')], { timeoutMs: 5 * 60_000 });
}

/** The machine behind a node, to look inside it (exec, journal, reboot). */
export function nodeMachine(cluster: ClusterInfo, node: ClusterNode | string): Machine {
  return clusterMachine(cluster.machinesDir, typeof node === 'string' ? node : node.name);
}
