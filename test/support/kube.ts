import { KubeConfig } from '@kubernetes/client-node';
import { run, type RunOptions } from './run-command.ts';

export type Kubectl = (args: string[], opts?: RunOptions) => Promise<string>;

/** kubectl bound to one kubeconfig; resolves with stdout, rejects with stderr. */
export function kubectlFor(kubectl: string, kubeconfigPath: string): Kubectl {
  return (args, opts) => run(kubectl, ['--kubeconfig', kubeconfigPath, ...args], opts);
}

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return kc;
}
