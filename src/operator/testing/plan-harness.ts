import { jobViewOf, type JobView, type NodeView } from '../../kube/views.ts';
import { desiredHash } from '../build/desired-state.ts';
import { keepAnnotation } from '../keys.ts';
import type { JobOutcome } from '../plan/job-outcome.ts';
import { planNode, type NodeFacts, type RolloutFacts } from '../plan/node-plan.ts';
import { optInPolicy } from '../plan/opt-in.ts';
import type { Plan, Step } from '../plan/steps.ts';
import { nodeView } from './fixtures.ts';
import { testConfig } from './test-config.ts';

/** What the planNode tests share: one config, one clock, a node, and the plan's effects. */
export const NOW = Date.parse('2026-11-25T12:05:00.000Z');
export const config = testConfig({
  rollout: { reverifyInterval: 0, retryBackoff: { initial: '30s', max: '10m' } },
});
export const ctx = { config, policy: optInPolicy(config) };
export const HASH = desiredHash(['wasmtime', 'spin'], config.installer);
export const optedIn = (extra: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  nodeView('worker-1', { annotations: { 'wasm-node': 'true', ...extra }, labels });

/** A node verified ready for wasmtime and spin, as the operator labels it. */
export const READY_LABELS = {
  'runtime.wasm-node.dev/wasmtime': 'ready',
  'runtime.wasm-node.dev/spin': 'ready',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/wasmtime': 'ready',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': 'ready',
  'wasm-node.dev/provisioned': 'true',
  'wasm-node.dev/status': 'ready',
};

export const FREE: RolloutFacts = { paused: false, slotFree: true, creating: undefined };

export function plan(node: NodeView, over: Partial<NodeFacts> = {}, c = ctx): Plan {
  return planNode(
    { node, jobs: [], outcomes: new Map(), now: NOW, rollout: FREE, bootId: undefined, ...over },
    c,
  );
}

export const DONE = { kind: 'done' };
export const requeueMs = (p: Plan) => (p.next.kind === 'requeueAfter' ? p.next.ms : undefined);

export function only<K extends Step['kind']>(p: Plan, kind: K): Extract<Step, { kind: K }>[] {
  return p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);
}

/** The Job the plan started, as the Job cache would show it after it ran. */
export function finish(p: Plan, phase: 'running' | 'succeeded' | 'failed'): JobView {
  const start = only(p, 'startJob')[0];
  if (!start) throw new Error('plan started no job');
  const end = new Date(NOW - 1000);
  const view = jobViewOf(
    {
      ...start.job,
      metadata: { ...start.job.metadata, uid: `uid-${start.job.metadata?.name}` },
      status: {
        startTime: new Date(NOW - 60_000),
        ...(phase === 'succeeded' ? { completionTime: end } : {}),
        conditions:
          phase === 'running'
            ? []
            : [
                {
                  type: phase === 'succeeded' ? 'Complete' : 'Failed',
                  status: 'True',
                  lastTransitionTime: end,
                  reason: phase === 'failed' ? 'BackoffLimitExceeded' : undefined,
                },
              ],
      },
    },
    keepAnnotation('wasm-node'),
  );
  return view;
}

/** The node as the cache shows it after the plan's patches. */
export function patched(node: NodeView, p: Plan): NodeView {
  const next = structuredClone(node);
  for (const s of p.steps) {
    const patch = s.kind === 'patchNode' ? s : s.kind === 'startJob' ? s.patch : undefined;
    if (!patch) continue;
    for (const [k, v] of Object.entries(patch.labels ?? {})) {
      if (v === null) delete next.metadata.labels[k];
      else next.metadata.labels[k] = v;
    }
    for (const [k, v] of Object.entries(patch.annotations ?? {})) {
      if (v === null) delete next.metadata.annotations[k];
      else next.metadata.annotations[k] = v;
    }
  }
  return next;
}

export const outcome = (o: JobOutcome, job: JobView) => new Map([[job.metadata.name, o]]);
