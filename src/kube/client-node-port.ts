import type { KubeConfig } from '@kubernetes/client-node';
import { apiPort, type PortOptions } from './api-port.ts';
import { connectionFromKubeConfig } from './connection.ts';
import { http2Transport } from './http2-transport.ts';
import type { KubePort } from './kube-port.ts';

/** The operator's KubePort for the credentials of a client-node KubeConfig (tests, tools). */
export function clientNodePort(kc: KubeConfig, opts: PortOptions): KubePort {
  return apiPort(http2Transport(connectionFromKubeConfig(kc)), opts);
}
