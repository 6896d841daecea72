import type { V1RuntimeClass } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import { LABELS, MANAGED_BY_VALUE, READY, runtimeLabel } from '../keys.ts';

/**
 * One RuntimeClass per runtime, name = containerd handler. It selects the runtime's *ready*
 * label, which only verified nodes carry, so pods never land on pending or failed nodes.
 */
export function buildRuntimeClass(runtime: string, config: Config): V1RuntimeClass {
  const { tolerations, overhead } = config.runtimeClass;
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: runtime, labels: { [LABELS.managedBy]: MANAGED_BY_VALUE } },
    handler: runtime,
    scheduling: {
      nodeSelector: { [runtimeLabel(runtime)]: READY },
      ...(tolerations.length > 0 ? { tolerations } : {}),
    },
    ...(overhead ? { overhead: { podFixed: overhead } } : {}),
  };
}
