import type { V1Job } from '@kubernetes/client-node';
import type { JobView } from '../../kube/views.ts';
import type { Operation } from '../keys.ts';

/** What a plan asks the apply step to do; plain data, so plans are unit-testable. */
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
  /** Every rollout slot is taken: join the line of nodes woken when one frees. */
  | { kind: 'awaitSlot' }
  | { kind: 'observeJob'; operation: Operation; result: 'succeeded' | 'failed'; job: JobView };

/**
 * What the node's reconcile asks of the controller afterwards: nothing until something
 * changes (`done`: events and the resync bring it back), a visit after a delay (retry backoff,
 * re-verification due), or a wake-up when a rollout slot frees.
 */
export type Action =
  { kind: 'done' } | { kind: 'requeueAfter'; ms: number } | { kind: 'awaitSlot' };

export const DONE: Action = { kind: 'done' };

/** Node states, as shown by the nodes-by-state gauge. */
export type NodeState =
  | 'idle'
  | 'invalid'
  | 'pending'
  | 'paused'
  | 'installing'
  | 'ready'
  | 'reverifying'
  | 'failed'
  | 'unsupported'
  | 'uninstalling';

export interface Plan {
  state: NodeState;
  steps: Step[];
  next: Action;
}
