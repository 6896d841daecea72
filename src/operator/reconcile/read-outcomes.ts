import type { V1Pod } from '@kubernetes/client-node';
import { parseInstallReport } from '../../formats/install-report.ts';
import { jobPhase, type JobView, type NodeView } from '../../kube/views.ts';
import { LABELS } from '../keys.ts';
import { finishedJobSteps, type JobOutcome } from '../plan/job-outcome.ts';
import type { ReconcileContext } from './context.ts';

/** The report among a termination message's lines: the last one that parses as one. */
function reportOf(message: string): JobOutcome {
  // FallbackToLogsOnError may hand us log lines (JSON logs too).
  let firstError: string | undefined;
  for (const line of message.split('\n').reverse()) {
    if (!line.trim().startsWith('{')) continue;
    const parsed = parseInstallReport(line);
    if (parsed.ok) return { report: parsed.report };
    firstError ??= parsed.error;
  }
  if (firstError) return { problem: firstError };
  const whole = parseInstallReport(message);
  return whole.ok ? { report: whole.report } : { problem: whole.error };
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
  return reportOf(message);
}

/** Read phase: pod findings for finished Jobs whose outcome is not yet on the node. */
export async function readOutcomes(
  node: NodeView,
  jobs: readonly JobView[],
  ctx: ReconcileContext,
): Promise<Map<string, JobOutcome>> {
  const outcomes = new Map<string, JobOutcome>();
  for (const job of jobs) {
    const phase = jobPhase(job);
    if (phase === 'running') continue;
    if (finishedJobSteps(node, job, phase, undefined, ctx.clock.now()).recorded) continue;
    const pods = await ctx.kube.listJobPods(job.metadata.namespace, {
      uid: job.metadata.uid,
      labelSelector: `${LABELS.job}=${job.metadata.name}`,
    });
    outcomes.set(job.metadata.name, outcomeFromPods(pods));
  }
  return outcomes;
}
