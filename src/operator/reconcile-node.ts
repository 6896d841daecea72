import type { V1Pod } from '@kubernetes/client-node';
import { parseInstallReport } from '../formats/install-report.ts';
import type { KubePort } from '../kube/kube-port.ts';
import { jobFinishedAt, jobPhase, type JobView, type NodeView } from '../kube/views.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { EventRecorder } from './event-recorder.ts';
import { finishedJobSteps, type JobOutcome } from './job-outcome.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { labelledRuntimes } from './node-records.ts';
import { planNode } from './node-plan.ts';
import type { OptInPolicy } from './opt-in.ts';
import type { Plan, Step } from './plan-types.ts';
import type { RolloutGate } from './rollout-gate.ts';

export interface NodeContext {
  config: Config;
  policy: OptInPolicy;
  kube: KubePort;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  gate: RolloutGate;
  jobsFor: (nodeName: string) => JobView[];
}

export interface NodeResult {
  plan: Plan;
  /** The plan wanted to start a Job but every rollout slot is taken. */
  waitingForSlot: boolean;
}

/** The newest pod's installer container termination: report or why there is none. */
export function outcomeFromPods(pods: readonly V1Pod[]): JobOutcome {
  const newest = [...pods].sort(
    (a, b) =>
      (b.metadata?.creationTimestamp?.valueOf() ?? 0) -
      (a.metadata?.creationTimestamp?.valueOf() ?? 0),
  )[0];
  if (!newest) return { problem: 'installer pod not found (deleted before it was read?)' };
  const status = newest.status?.containerStatuses?.find((c) => c.name === 'installer');
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  if (!terminated)
    return { problem: `installer pod ${newest.metadata?.name} has no terminated container` };
  const message = terminated.message?.trim();
  if (!message) {
    return {
      problem: `installer exited ${terminated.exitCode} (${terminated.reason ?? 'no reason'}) without a report`,
    };
  }
  // FallbackToLogsOnError may hand us log lines (JSON logs too): the report is the last line
  // that parses as one.
  const lines = message.split('\n').reverse();
  let firstError: string | undefined;
  for (const line of lines) {
    if (!line.trim().startsWith('{')) continue;
    const parsed = parseInstallReport(line);
    if (parsed.ok) return { report: parsed.report };
    firstError ??= parsed.error;
  }
  if (firstError) return { problem: firstError };
  const whole = parseInstallReport(message);
  return whole.ok ? { report: whole.report } : { problem: whole.error };
}

/** Read phase: pod findings for finished Jobs whose outcome is not yet on the node. */
async function readOutcomes(
  node: NodeView,
  jobs: readonly JobView[],
  ctx: NodeContext,
): Promise<Map<string, JobOutcome>> {
  const outcomes = new Map<string, JobOutcome>();
  for (const job of jobs) {
    const phase = jobPhase(job);
    if (phase === 'running') continue;
    if (finishedJobSteps(node, job, phase, undefined, ctx.clock.now()).recorded) continue;
    const pods = await ctx.kube.listJobPods(job.metadata.namespace, job.metadata.uid);
    outcomes.set(job.metadata.name, outcomeFromPods(pods));
  }
  return outcomes;
}

/** Pods on the node that run with one of our RuntimeClasses (they are left running). */
async function warnAboutWasmPods(node: NodeView, ctx: NodeContext, log: Logger): Promise<void> {
  const ours = new Set([...ctx.config.runtimes, ...labelledRuntimes(node)]);
  const pods = await ctx.kube.listPodsOnNode(node.metadata.name);
  const using = pods.filter(
    (p) =>
      p.spec?.runtimeClassName &&
      ours.has(p.spec.runtimeClassName) &&
      !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''),
  );
  if (using.length === 0) return;
  const names = using.slice(0, 10).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
  await ctx.events.nodeEvent(
    node,
    'Warning',
    'WasmPodsStillRunning',
    `${using.length} pod(s) still use Wasm RuntimeClasses on this node and will break when the runtimes are removed; they are not deleted: ${names.join(', ')}${using.length > names.length ? ', …' : ''}`,
    log,
  );
}

async function applyStep(
  step: Step,
  node: NodeView,
  ctx: NodeContext,
  log: Logger,
): Promise<'done' | 'no-slot'> {
  const name = node.metadata.name;
  switch (step.kind) {
    case 'event':
      await ctx.events.nodeEvent(node, step.type, step.reason, step.message, log);
      return 'done';
    case 'patchNode':
      await ctx.kube.patchNodeMetadata(name, {
        labels: step.labels,
        annotations: step.annotations,
      });
      return 'done';
    case 'deleteJob':
      await ctx.kube.deleteJob(ctx.config.namespace, step.name);
      log.info({ job: step.name }, 'installer job deleted');
      return 'done';
    case 'startJob': {
      const admission = ctx.gate.tryAcquire(name, step.job.metadata?.name ?? '');
      if (admission === 'wait') return 'no-slot';
      if (admission === 'created') return 'done';
      try {
        // Node first: an uninstall drops the ready labels before anything is removed, and
        // a Job never exists without its node showing the status.
        await ctx.kube.patchNodeMetadata(name, step.patch);
        if (await ctx.kube.createJob(step.job)) {
          ctx.metrics.jobsStarted.inc({ operation: step.operation });
          log.info(
            { job: step.job.metadata?.name, operation: step.operation },
            'installer job created',
          );
        }
      } catch (err) {
        ctx.gate.release(name);
        throw err;
      }
      if (step.operation === 'uninstall') await warnAboutWasmPods(node, ctx, log);
      return 'done';
    }
    case 'observeJob': {
      const start = Date.parse(step.job.status.startTime ?? '');
      const end = Date.parse(jobFinishedAt(step.job) ?? '');
      if (!Number.isNaN(start) && !Number.isNaN(end)) {
        ctx.metrics.jobDuration.observe(
          { operation: step.operation, result: step.result },
          Math.max(0, end - start) / 1000,
        );
      }
      return 'done';
    }
  }
}

/** reconcileNode = read (caches + finished Jobs' pods) → planNode (pure) → apply. */
export async function reconcileNode(node: NodeView, ctx: NodeContext): Promise<NodeResult> {
  const log = ctx.log.child({ node: node.metadata.name });
  const jobs = ctx.jobsFor(node.metadata.name);
  const outcomes = await readOutcomes(node, jobs, ctx);
  const plan = planNode(
    { node, jobs, outcomes, now: ctx.clock.now(), paused: ctx.gate.paused },
    { config: ctx.config, policy: ctx.policy },
  );
  log.debug({ state: plan.state, steps: plan.steps.map((s) => s.kind) }, 'planned');
  for (const step of plan.steps) {
    if ((await applyStep(step, node, ctx, log)) === 'no-slot') {
      log.debug('waiting for a rollout slot');
      return { plan: { ...plan, state: 'pending' }, waitingForSlot: true };
    }
  }
  return { plan, waitingForSlot: false };
}
