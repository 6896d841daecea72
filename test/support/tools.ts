import path from 'node:path';
import { run } from './run-command.ts';
import { repoPath } from './repo.ts';

const COLD_BUILD_MS = 60 * 60_000;
const builds = new Map<string, Promise<string>>();

/**
 * Bin dir of a cached tool build (e2e/tools/build-*.sh): instant when cached, a full build
 * from the Go module proxy otherwise (Kubernetes: 5-25 min on 2 cores).
 */
function toolBinDir(script: string): Promise<string> {
  let dir = builds.get(script);
  if (!dir) {
    dir = run('bash', [repoPath(`e2e/tools/${script}`)], { timeoutMs: COLD_BUILD_MS }).then(
      (stdout) => stdout.trim().split('\n').at(-1) ?? '',
      (error: Error) => {
        throw new Error(`e2e/tools/${script} could not provide its binaries: ${error.message}`);
      },
    );
    builds.set(script, dir);
  }
  return dir;
}

/** Directory with kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and etcd. */
export function kubernetesBinDir(): Promise<string> {
  return toolBinDir('build-kubernetes.sh');
}

export async function kubectlPath(): Promise<string> {
  return path.join(await toolBinDir('build-kubectl.sh'), 'kubectl');
}

export async function helmPath(): Promise<string> {
  return path.join(await toolBinDir('build-helm.sh'), 'helm');
}
