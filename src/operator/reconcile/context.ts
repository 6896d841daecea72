import type { Clock } from '../../controller/clock.ts';
import type { KubePort } from '../../kube/kube-port.ts';
import type { JobView } from '../../kube/views.ts';
import type { Config } from '../config.ts';
import type { EventRecorder } from '../event-recorder.ts';
import type { NodeStates } from '../fleet/node-states.ts';
import type { RolloutGate } from '../fleet/rollout-gate.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { OptInPolicy } from '../plan/opt-in.ts';

/**
 * Everything a node's reconcile reads and changes, passed in (kube-rs's Context): the API,
 * the caches, the rollout gate, time, logs, metrics and Events. A reconcile touches nothing else.
 */
export interface ReconcileContext {
  config: Config;
  policy: OptInPolicy;
  kube: KubePort;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  gate: RolloutGate;
  /** The nodes-by-state gauge. */
  states: NodeStates;
  /** The node's Jobs from the Job cache. */
  jobsFor: (nodeName: string) => JobView[];
  /** The node's boot id now, from the Node status cache (the nodes the operator manages). */
  bootIdOf: (nodeName: string) => string | undefined;
}
