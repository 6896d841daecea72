import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { run } from './run-command.ts';
import { repoPath } from './repo.ts';

/** $WORKDIR/cluster.json, written by e2e/cluster/up.sh once the cluster is healthy. */
export const ClusterInfoSchema = z.object({
  workDir: z.string(),
  kubeconfig: z.string(),
  server: z.string(),
  nodeName: z.string(),
  bridge: z.string(),
  cniNetwork: z.string(),
  containerdSocket: z.string(),
  containerdConfig: z.string(),
  containerdLog: z.string(),
  /** Restarts containerd through its supervisor; exits 0 once a new process serves the socket. */
  restartContainerd: z.string(),
  kubectl: z.string(),
  crictl: z.string(),
  kubernetesBinDir: z.string(),
});
export type ClusterInfo = z.infer<typeof ClusterInfoSchema>;

// A cold machine builds Kubernetes, kubectl and crictl before the cluster starts.
const UP_TIMEOUT_MS = 60 * 60_000;

export function clusterDir(): string {
  return process.env.WASM_NODE_CLUSTER_DIR ?? '/var/lib/wasm-node-e2e';
}

export function readClusterInfo(): ClusterInfo {
  return ClusterInfoSchema.parse(JSON.parse(readFileSync(`${clusterDir()}/cluster.json`, 'utf8')));
}

/** Brings the local cluster up, or reuses it when it is up and healthy. */
export async function ensureCluster(): Promise<ClusterInfo> {
  await run('bash', [repoPath('e2e/cluster/up.sh')], { timeoutMs: UP_TIMEOUT_MS });
  return readClusterInfo();
}

export async function clusterDown(): Promise<void> {
  await run('bash', [repoPath('e2e/cluster/down.sh')], { timeoutMs: 5 * 60_000 });
}
