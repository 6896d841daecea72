import type { V1Job } from '@kubernetes/client-node';
import type { JobView } from '../kube/views.ts';
import type { Operation } from './keys.ts';

/** What a planner asks the apply step to do; plain data, so plans are unit-testable. */
export type Step =
  | { kind: 'event'; type: 'Normal' | 'Warning'; reason: string; message: string }
  | {
      kind: 'patchNode';
      labels?: Record<string, string | null>;
      annotations?: Record<string, string | null>;
    }
  | { kind: 'deleteJob'; name: string }
  | {
      kind: 'startJob';
      job: V1Job;
      operation: Operation;
      /** Applied to the node just before the Job is created (status label, message). */
      patch: { labels: Record<string, string | null>; annotations: Record<string, string | null> };
    }
  | { kind: 'observeJob'; operation: Operation; result: 'succeeded' | 'failed'; job: JobView };

/** Node states, as shown by the nodes-by-state gauge. */
export type NodeState =
  'idle' | 'invalid' | 'pending' | 'paused' | 'installing' | 'ready' | 'failed' | 'uninstalling';

export interface Plan {
  state: NodeState;
  steps: Step[];
  /** Come back then (retry backoff, re-verification) even if nothing changes. */
  requeueAfterMs?: number;
}
