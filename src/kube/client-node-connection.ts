import { KubeConfig } from '@kubernetes/client-node';
import { connectionFromKubeConfig, type KubeConnection } from './connection.ts';

/**
 * A kubeconfig only client-node reads (exec plugins, auth providers, the default loading
 * rules): imported on demand by kubeConnection(), so the operator pays client-node's memory
 * only then. Alone in its module so a bundle keeps only KubeConfig of client-node, lazily.
 */
export function clientNodeConnection(file: string | undefined): KubeConnection {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return connectionFromKubeConfig(kc);
}
