import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../controller/clock.ts';
import { clientNodeInformers } from '../kube/client-node-informers.ts';
import { clientNodePort } from '../kube/client-node-port.ts';
import type { Config } from './config.ts';
import { FIELD_MANAGER, keepAnnotation } from './keys.ts';
import type { ManagerDeps } from './manager.ts';

/** The API and the watches over client-node, set up for the operator (main.ts and tests). */
export function clientNodeDeps(
  kc: KubeConfig,
  config: Config,
  opts: { identity: string; clock: Clock },
): Pick<ManagerDeps, 'kube' | 'informers'> {
  return {
    kube: clientNodePort(kc, {
      fieldManager: FIELD_MANAGER,
      reportingInstance: opts.identity,
      requestTimeoutMs: config.requestTimeout,
    }),
    informers: clientNodeInformers(kc, {
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
