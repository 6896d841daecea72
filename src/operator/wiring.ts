import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../controller/clock.ts';
import { apiInformers } from '../kube/api-informers.ts';
import { apiPort } from '../kube/api-port.ts';
import { connectionFromKubeConfig, type KubeConnection } from '../kube/connection.ts';
import { http2Transport, type RequestHook } from '../kube/http2-transport.ts';
import type { Config } from './config.ts';
import { FIELD_MANAGER, keepAnnotation } from './keys.ts';
import type { ManagerDeps } from './manager.ts';

/** The API and the watches over one HTTP/2 connection, set up for the operator. */
export function apiDeps(
  conn: KubeConnection,
  config: Config,
  opts: { identity: string; clock: Clock; onRequest?: RequestHook },
): Pick<ManagerDeps, 'kube' | 'informers'> {
  const transport = http2Transport(conn, opts.onRequest);
  return {
    kube: apiPort(transport, {
      fieldManager: FIELD_MANAGER,
      reportingInstance: opts.identity,
      requestTimeoutMs: config.requestTimeout,
    }),
    informers: apiInformers(transport, {
      keepAnnotation: keepAnnotation(config.optIn.annotation),
      requestTimeoutMs: config.requestTimeout,
      tuning: {
        clock: opts.clock,
        restartBackoff: config.watch.restartBackoff,
        watchTimeoutMs: config.watch.timeout,
        resyncMs: config.watch.resync,
      },
    }),
  };
}

/** The same from a client-node KubeConfig (tests, and kubeconfigs only client-node reads). */
export function clientNodeDeps(
  kc: KubeConfig,
  config: Config,
  opts: { identity: string; clock: Clock },
): Pick<ManagerDeps, 'kube' | 'informers'> {
  return apiDeps(connectionFromKubeConfig(kc), config, opts);
}
