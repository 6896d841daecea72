import { jobPhase, type JobView, type NodeView } from '../../kube/views.ts';
import { RUNTIME_NAMES } from '../../catalog/runtimes.ts';
import { buildInstallerJob } from '../build/installer-job.ts';
import type { Config } from '../config.ts';
import { ANNOTATIONS, LABELS, STATUS, type Operation } from '../keys.ts';
import { desiredHash } from '../build/desired-state.ts';
import { finishedJobSteps, type JobOutcome } from './job-outcome.ts';
import { jobOperation } from './job-records.ts';
import {
  clearMarkersPatch,
  hasMarkers,
  labelledRuntimes,
  runtimeLabelsPatch,
} from './node-records.ts';
import { askedExplicitly, evaluateIntent, unsupportedNode, type OptInPolicy } from './opt-in.ts';
import { installSchedule, uninstallSchedule, type Schedule } from './schedule.ts';
import { DONE, type NodeState, type Plan, type Step } from './steps.ts';

/** What the rollout allows this node now: facts the gate reports, read in the same tick. */
export interface RolloutFacts {
  /** The failure budget is spent: start no install (uninstalls still run). */
  paused: boolean;
  /** A Job may start: the node holds a slot, or one is free. */
  slotFree: boolean;
  /** The Job we created for this node that the Job cache does not show yet. */
  creating: string | undefined;
}

/** Everything planNode decides on; gathered by the read phase of reconcileNode. */
export interface NodeFacts {
  node: NodeView;
  /** This node's Jobs from the Job cache. */
  jobs: readonly JobView[];
  /** Pod findings for finished, not yet recorded Jobs, by Job name. */
  outcomes: ReadonlyMap<string, JobOutcome>;
  now: number;
  rollout: RolloutFacts;
  /** The Node's boot id now (status.nodeInfo.bootID), when the status cache has it. */
  bootId: string | undefined;
}

export interface PlanContext {
  config: Config;
  policy: OptInPolicy;
}

/** A run the node is due for: what to run, for which runtimes, and when. */
interface Run {
  operation: Operation;
  runtimes: string[];
  hash: string;
  schedule: Schedule;
  /** The node is installed with this very hash: the run re-verifies it. */
  reverify: boolean;
}

const plan = (state: NodeState, steps: Step[] = [], next = DONE): Plan => ({ state, steps, next });

/** Finished Jobs are deleted before a new run starts: one Job per node at a time. */
function clearLeftovers(jobs: readonly JobView[], state: NodeState): Plan {
  return plan(
    state,
    jobs.map((j) => ({ kind: 'deleteJob', name: j.metadata.name })),
  );
}

/**
 * Records finished Jobs on the node; `busy` while one still runs. `finished` are the recorded
 * Jobs left to delete before the next run.
 */
function recordJobs(facts: NodeFacts): { busy?: Plan; steps: Step[]; finished: JobView[] } {
  const { node, now } = facts;
  const steps: Step[] = [];
  const finished: JobView[] = [];
  let recordedAll = true;
  for (const job of [...facts.jobs].sort((a, b) =>
    a.metadata.name.localeCompare(b.metadata.name),
  )) {
    const phase = jobPhase(job);
    if (phase === 'running')
      return {
        busy: plan(jobOperation(job) === 'uninstall' ? 'uninstalling' : 'installing'),
        steps,
        finished,
      };
    const result = finishedJobSteps(node, job, phase, facts.outcomes.get(job.metadata.name), now);
    steps.push(...result.steps);
    recordedAll &&= result.recorded;
    if (result.recorded && !result.steps.some((s) => s.kind === 'deleteJob')) finished.push(job);
  }
  // Decide the next run only on a node whose cache already shows every record.
  if (!recordedAll || steps.length > 0) return { busy: plan('pending', steps), steps, finished };
  return { steps, finished };
}

const retryPlan = (): Plan =>
  plan('pending', [
    { kind: 'patchNode', annotations: { [ANNOTATIONS.retry]: null, [ANNOTATIONS.failure]: null } },
    {
      kind: 'event',
      type: 'Normal',
      reason: 'RetryRequested',
      message: 'failure cleared by the retry annotation; the node will be retried',
    },
  ]);

/** The run this node wants, from its opt-in; undefined when it wants none. */
function wantedRun(
  facts: NodeFacts,
  intent: { kind: 'in'; runtimes: string[] } | { kind: 'out' },
  ctx: PlanContext,
): Run | undefined {
  const { node } = facts;
  if (intent.kind === 'in') {
    const hash = desiredHash(intent.runtimes, ctx.config.installer);
    const schedule = installSchedule(node, hash, ctx.config, facts.bootId);
    const reverify = node.metadata.annotations[ANNOTATIONS.installedHash] === hash;
    return { operation: 'install', runtimes: intent.runtimes, hash, schedule, reverify };
  }
  if (!hasMarkers(node)) return undefined;
  const known = [...ctx.config.runtimes, ...labelledRuntimes(node)];
  const runtimes = RUNTIME_NAMES.filter((r) => known.includes(r));
  return {
    operation: 'uninstall',
    runtimes,
    hash: 'uninstall',
    schedule: uninstallSchedule(node, ctx.config),
    reverify: false,
  };
}

function startStep(
  node: NodeView,
  run: Run,
  ctx: PlanContext,
): Extract<Step, { kind: 'startJob' }> {
  const { operation, runtimes, hash, schedule } = run;
  const job = buildInstallerJob(
    {
      nodeName: node.metadata.name,
      nodeUid: node.metadata.uid,
      operation,
      runtimes,
      hash,
      attempt: schedule.attempt,
      verifiedBy: node.metadata.annotations[ANNOTATIONS.verifiedBy] ?? '',
    },
    ctx.config,
  );
  const status = operation === 'install' ? STATUS.installing : STATUS.uninstalling;
  // Leaving nodes lose their ready labels first: no new Wasm pods while runtimes go away.
  const labels = operation === 'uninstall' ? { ...clearMarkersPatch(node).labels } : {};
  return {
    kind: 'startJob',
    job,
    operation,
    patch: {
      labels: { ...labels, [LABELS.status]: status },
      annotations: {
        [ANNOTATIONS.message]: `${operation} of ${runtimes.join(', ')} running (job ${job.metadata?.name}, attempt ${schedule.attempt + 1}${schedule.because ? `; ${schedule.because}` : ''})`,
      },
    },
  };
}

/**
 * A rebooted node first loses its ready labels, in the write that shows it is re-verified:
 * they promise "verified on this boot", and new Wasm pods wait until that holds again (ADR
 * 0107). Undefined once nothing is left to withdraw: the run then starts as any other.
 */
function withdrawPlan(node: NodeView): Plan | undefined {
  const { labels } = node.metadata;
  if (labelledRuntimes(node).length === 0 && labels[LABELS.provisioned] === undefined)
    return undefined;
  const message =
    'the node rebooted since its verification: its ready labels are withdrawn until it is verified again';
  return plan('reverifying', [
    {
      kind: 'patchNode',
      labels: {
        ...runtimeLabelsPatch(node, []),
        [LABELS.provisioned]: null,
        [LABELS.status]: STATUS.reverifying,
      },
      annotations: { [ANNOTATIONS.message]: message },
    },
    { kind: 'event', type: 'Normal', reason: 'ReadyLabelsWithdrawn', message },
  ]);
}

/** A due run: start its Job if the rollout lets it, else wait in line for a slot. */
function startOrWait(
  node: NodeView,
  run: Run,
  finished: readonly JobView[],
  facts: NodeFacts,
  ctx: PlanContext,
): Plan {
  const { rollout } = facts;
  // The budget holds back changes, not checks: a re-verification runs while paused.
  if (run.operation === 'install' && rollout.paused && !run.reverify)
    return plan(run.schedule.state === 'failed' ? 'failed' : 'paused');
  if (finished.length > 0) return clearLeftovers(finished, run.schedule.state);
  const start = startStep(node, run, ctx);
  const running = run.operation === 'install' ? 'installing' : 'uninstalling';
  // Our create of this very Job has not reached the cache yet: nothing to do until it does.
  if (rollout.creating === start.job.metadata?.name) return plan(running);
  if (!rollout.slotFree) return plan('pending', [{ kind: 'awaitSlot' }], { kind: 'awaitSlot' });
  return plan(running, [start]);
}

/**
 * The whole decision for one node, from the facts to steps and what comes next. Pure.
 * Order: record finished Jobs → wait for running ones → honour the retry command → install,
 * re-verify (a rebooted node's labels withdrawn first) or uninstall when due, as far as the
 * rollout allows.
 */
export function planNode(facts: NodeFacts, ctx: PlanContext): Plan {
  const { node, now } = facts;
  const recorded = recordJobs(facts);
  if (recorded.busy) return recorded.busy;
  const { finished } = recorded;

  const intent = evaluateIntent(node, ctx.policy);
  if (intent.kind === 'invalid') {
    return plan(
      'invalid',
      intent.warnings.map((w) => ({ kind: 'event', type: 'Warning', ...w })),
    );
  }
  const unsupported = intent.kind === 'in' ? unsupportedNode(node) : undefined;
  if (unsupported) {
    // Only a node that asked for it hears why: under autoProvision it would be every one.
    const why: Step = {
      kind: 'event',
      type: 'Warning',
      reason: 'NodeUnsupported',
      message: `no Wasm runtimes for ${unsupported}`,
    };
    return plan('unsupported', askedExplicitly(node, ctx.policy) ? [why] : []);
  }
  if (node.metadata.annotations[ANNOTATIONS.retry] !== undefined)
    return finished.length > 0 ? clearLeftovers(finished, 'pending') : retryPlan();

  const run = wantedRun(facts, intent, ctx);
  if (!run) return finished.length > 0 ? clearLeftovers(finished, 'idle') : plan('idle');
  const { due, state } = run.schedule;
  if (due === undefined) return plan(state);
  if (due > now) return plan(state, [], { kind: 'requeueAfter', ms: due - now });
  const withdraw = state === 'reverifying' ? withdrawPlan(node) : undefined;
  return withdraw ?? startOrWait(node, run, finished, facts, ctx);
}
