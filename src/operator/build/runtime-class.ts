import type { V1RuntimeClass } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import { LABELS, MANAGED_BY_VALUE, READY, runtimeLabel, steeringLabel } from '../keys.ts';

/**
 * One RuntimeClass per runtime, name = containerd handler. It selects the runtime's steering
 * ready label, which only the operator sets and only on verified nodes, so pods never land on
 * pending, failed or self-proclaimed nodes. `readableSelector` keeps the selector of releases
 * before it while their nodes are re-verified.
 */
export function buildRuntimeClass(
  runtime: string,
  config: Pick<Config, 'runtimeClass'>,
  opts: { readableSelector?: boolean } = {},
): V1RuntimeClass {
  const selector = opts.readableSelector ? runtimeLabel(runtime) : steeringLabel(runtime);
  const { tolerations, overhead } = config.runtimeClass;
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: runtime, labels: { [LABELS.managedBy]: MANAGED_BY_VALUE } },
    handler: runtime,
    scheduling: {
      nodeSelector: { [selector]: READY },
      ...(tolerations.length > 0 ? { tolerations } : {}),
    },
    ...(overhead ? { overhead: { podFixed: overhead } } : {}),
  };
}
