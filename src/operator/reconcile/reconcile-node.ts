import type { NodeView } from '../../kube/views.ts';
import { planNode, type NodeFacts } from '../plan/node-plan.ts';
import type { Action, Plan } from '../plan/steps.ts';
import { applyStep } from './apply-steps.ts';
import type { ReconcileContext } from './context.ts';
import { readOutcomes } from './read-outcomes.ts';

/**
 * The plan's choice about rollout slots, booked in the same synchronous stretch as the facts
 * it was made from (no await between), so two workers cannot both take the last slot.
 */
function book(plan: Plan, name: string, ctx: ReconcileContext): void {
  for (const step of plan.steps) {
    if (step.kind === 'startJob') ctx.gate.reserve(name, step.job.metadata?.name ?? '');
    if (step.kind === 'awaitSlot') ctx.gate.wait(name);
  }
}

/**
 * reconcile(node, ctx) → Action: read (caches + finished Jobs' pods) → planNode (pure) →
 * apply. The Action tells the controller what to do with the node's key next.
 */
export async function reconcileNode(node: NodeView, ctx: ReconcileContext): Promise<Action> {
  const name = node.metadata.name;
  const log = ctx.log.child({ node: name });
  const jobs = ctx.jobsFor(name);
  const outcomes = await readOutcomes(node, jobs, ctx);
  const facts: NodeFacts = {
    node,
    jobs,
    outcomes,
    now: ctx.clock.now(),
    rollout: ctx.gate.factsFor(name),
    bootId: ctx.bootIdOf(name),
  };
  const plan = planNode(facts, { config: ctx.config, policy: ctx.policy });
  book(plan, name, ctx);
  log.debug({ state: plan.state, steps: plan.steps.map((s) => s.kind) }, 'planned');
  ctx.states.record(name, plan.state);
  for (const step of plan.steps) await applyStep(step, node, ctx, log);
  return plan.next;
}
