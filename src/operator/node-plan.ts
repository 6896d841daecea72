import { jobPhase, jobOperation, type JobView, type NodeView } from '../kube/views.ts';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { backoffDelay } from './backoff.ts';
import type { Config } from './config.ts';
import { desiredHash } from './desired-state.ts';
import { buildInstallerJob } from './job-builder.ts';
import { finishedJobSteps, type JobOutcome } from './job-outcome.ts';
import { ANNOTATIONS, LABELS, STATUS, type Operation } from './keys.ts';
import { nodeHash } from './names.ts';
import { clearMarkersPatch, hasMarkers, labelledRuntimes, readFailure } from './node-records.ts';
import { evaluateIntent, type OptInPolicy } from './opt-in.ts';
import type { NodeState, Plan, Step } from './plan-types.ts';

/** Everything planNode decides on; gathered by the read phase of reconcileNode. */
export interface NodeFacts {
  node: NodeView;
  /** This node's Jobs from the Job cache. */
  jobs: readonly JobView[];
  /** Pod findings for finished, not yet recorded Jobs, by Job name. */
  outcomes: ReadonlyMap<string, JobOutcome>;
  now: number;
  /** The failure budget is spent: start no install (uninstalls still run). */
  paused: boolean;
}

export interface PlanContext {
  config: Config;
  policy: OptInPolicy;
}

/**
 * Deterministic offset (0-10 % of the interval) so nodes installed together are not
 * re-verified together.
 */
function reverifyStagger(nodeName: string, interval: number): number {
  return Math.floor(
    (parseInt(nodeHash(nodeName).slice(0, 8), 16) / 0x1_0000_0000) * interval * 0.1,
  );
}

/** Finished Jobs are deleted before a new run starts: one Job per node at a time. */
function clearLeftovers(jobs: readonly JobView[], state: NodeState): Plan {
  return { state, steps: jobs.map((j) => ({ kind: 'deleteJob', name: j.metadata.name })) };
}

interface Schedule {
  /** When the next run is due (epoch ms); undefined = nothing to run. */
  due: number | undefined;
  attempt: number;
  state: NodeState;
}

function installSchedule(node: NodeView, hash: string, config: Config): Schedule {
  const failure = readFailure(node);
  const { annotations } = node.metadata;
  if (failure?.op === 'install' && failure.hash === hash) {
    const wait = backoffDelay(config.rollout.retryBackoff, failure.attempts);
    return { due: failure.at + wait, attempt: failure.attempts, state: 'failed' };
  }
  if (annotations[ANNOTATIONS.installedHash] !== hash)
    return { due: 0, attempt: 0, state: 'pending' };
  const interval = config.rollout.reverifyInterval;
  const verifiedAt = Date.parse(annotations[ANNOTATIONS.verifiedAt] ?? '');
  if (interval === 0 || Number.isNaN(verifiedAt))
    return { due: undefined, attempt: 0, state: 'ready' };
  return {
    due: verifiedAt + interval + reverifyStagger(node.metadata.name, interval),
    attempt: 0,
    state: 'ready',
  };
}

function uninstallSchedule(node: NodeView, config: Config): Schedule {
  const failure = readFailure(node);
  if (failure?.op === 'uninstall') {
    const wait = backoffDelay(config.rollout.retryBackoff, failure.attempts);
    return { due: failure.at + wait, attempt: failure.attempts, state: 'failed' };
  }
  return { due: 0, attempt: 0, state: 'uninstalling' };
}

function startStep(
  node: NodeView,
  operation: Operation,
  runtimes: string[],
  hash: string,
  attempt: number,
  ctx: PlanContext,
): Step {
  const job = buildInstallerJob(
    {
      nodeName: node.metadata.name,
      nodeUid: node.metadata.uid,
      operation,
      runtimes,
      hash,
      attempt,
      verifiedAt: node.metadata.annotations[ANNOTATIONS.verifiedAt] ?? '',
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
        [ANNOTATIONS.message]: `${operation} of ${runtimes.join(', ')} running (job ${job.metadata?.name}, attempt ${attempt + 1})`,
      },
    },
  };
}

/**
 * The whole decision for one node, from the facts to a list of steps. Pure.
 * Order: record finished Jobs → wait for running ones → honour the retry command → install,
 * re-verify or uninstall when due.
 */
export function planNode(facts: NodeFacts, ctx: PlanContext): Plan {
  const { node, jobs, now } = facts;
  const steps: Step[] = [];
  let recordedAll = true;
  const finished: JobView[] = [];
  for (const job of [...jobs].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const phase = jobPhase(job);
    if (phase === 'running') {
      const state = jobOperation(job) === 'uninstall' ? 'uninstalling' : 'installing';
      return { state, steps };
    }
    const result = finishedJobSteps(node, job, phase, facts.outcomes.get(job.metadata.name), now);
    steps.push(...result.steps);
    recordedAll &&= result.recorded;
    if (result.recorded && !result.steps.some((s) => s.kind === 'deleteJob')) finished.push(job);
  }
  // Decide the next run only on a node whose cache already shows every record.
  if (!recordedAll || steps.length > 0) return { state: 'pending', steps };

  const intent = evaluateIntent(node, ctx.policy);
  if (intent.kind === 'invalid') {
    const warnings: Step[] = intent.warnings.map((w) => ({ kind: 'event', type: 'Warning', ...w }));
    return { state: 'invalid', steps: warnings };
  }

  if (node.metadata.annotations[ANNOTATIONS.retry] !== undefined) {
    if (finished.length > 0) return clearLeftovers(finished, 'pending');
    return {
      state: 'pending',
      steps: [
        {
          kind: 'patchNode',
          annotations: { [ANNOTATIONS.retry]: null, [ANNOTATIONS.failure]: null },
        },
        {
          kind: 'event',
          type: 'Normal',
          reason: 'RetryRequested',
          message: 'failure cleared by the retry annotation; the node will be retried',
        },
      ],
    };
  }

  let operation: Operation;
  let runtimes: string[];
  let hash: string;
  let schedule: Schedule;
  if (intent.kind === 'in') {
    operation = 'install';
    runtimes = intent.runtimes;
    hash = desiredHash(runtimes, ctx.config.installer);
    schedule = installSchedule(node, hash, ctx.config);
  } else {
    if (!hasMarkers(node))
      return finished.length > 0 ? clearLeftovers(finished, 'idle') : { state: 'idle', steps };
    operation = 'uninstall';
    const known = [...ctx.config.runtimes, ...labelledRuntimes(node)];
    runtimes = RUNTIME_NAMES.filter((r) => known.includes(r));
    hash = 'uninstall';
    schedule = uninstallSchedule(node, ctx.config);
  }

  if (schedule.due === undefined) return { state: schedule.state, steps };
  if (schedule.due > now)
    return { state: schedule.state, steps, requeueAfterMs: schedule.due - now };
  if (operation === 'install' && facts.paused) {
    return { state: schedule.state === 'failed' ? 'failed' : 'paused', steps };
  }
  if (finished.length > 0) return clearLeftovers(finished, schedule.state);
  return {
    state: operation === 'install' ? 'installing' : 'uninstalling',
    steps: [startStep(node, operation, runtimes, hash, schedule.attempt, ctx)],
  };
}
