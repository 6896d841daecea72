import type { InstallReport } from '../../formats/install-report.ts';
import { jobFinishedAt, type JobView, type NodeView } from '../../kube/views.ts';
import { ANNOTATIONS, LABELS, STATUS, type Operation } from '../keys.ts';
import { jobOperation, jobRuntimes } from './job-records.ts';
import {
  clearMarkersPatch,
  formatFailure,
  readFailure,
  runtimeLabelsPatch,
} from './node-records.ts';
import type { Step } from './steps.ts';

/** What the read phase learnt from a finished Job's pod. */
export interface JobOutcome {
  report?: InstallReport;
  /** Why there is no usable report (no pod, not JSON, wrong schema…). */
  problem?: string;
}

function finishedAtMs(job: JobView, now: number): number {
  const at = jobFinishedAt(job);
  return at ? Date.parse(at) : now;
}

function failureMessage(job: JobView, outcome: JobOutcome | undefined): string {
  if (outcome?.report?.error)
    return `${outcome.report.error.code}: ${outcome.report.error.message}`;
  const failed = job.status.conditions.find(
    (c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True',
  );
  if (failed) return `job ${failed.reason ?? 'Failed'}: ${failed.message ?? 'no message'}`;
  if (outcome?.report && !outcome.report.ok) return 'installer reported failure without an error';
  return outcome?.problem ?? 'installer wrote no report';
}

function verifiedRuntimes(job: JobView, report: InstallReport | undefined): string[] {
  const wanted = jobRuntimes(job);
  return (report?.runtimes ?? [])
    .filter((r) => r.verified && wanted.includes(r.name))
    .map((r) => r.name);
}

/**
 * Labels follow what was verified. A failed install whose installer changed nothing (a
 * refusal, a lock timeout) or restored the previous config leaves the node serving what it
 * was last verified for: its labels stay. Otherwise they are the runtimes the failed report
 * still verified, none without a report.
 */
function labelsAfterFailure(node: NodeView, job: JobView, report: InstallReport | undefined) {
  const unchanged = report?.runtimes.length === 0 && (report.rolledBack || !report.changed);
  if (unchanged) return {};
  return { ...runtimeLabelsPatch(node, verifiedRuntimes(job, report)), [LABELS.provisioned]: null };
}

function failureSteps(
  node: NodeView,
  job: JobView,
  outcome: JobOutcome | undefined,
  now: number,
): Step[] {
  const op = jobOperation(job) as Operation;
  const attempts = Number(job.metadata.annotations[ANNOTATIONS.attempt] ?? '0') + 1;
  const error = failureMessage(job, outcome);
  // A refusal: this node cannot take the runtimes as it is. Not a failure of the rollout.
  const refused = outcome?.report?.error?.kind === 'refused';
  // An uninstall already dropped the labels when it started.
  const labels = op === 'install' ? labelsAfterFailure(node, job, outcome?.report) : {};
  const what = refused ? `${op} refused` : `${op} failed`;
  return [
    {
      kind: 'patchNode',
      labels: { ...labels, [LABELS.status]: refused ? STATUS.unsupported : STATUS.failed },
      annotations: {
        [ANNOTATIONS.failure]: formatFailure({
          op,
          hash: job.metadata.annotations[ANNOTATIONS.desiredHash] ?? '',
          attempts,
          at: finishedAtMs(job, now),
          job: job.metadata.name,
          ...(refused ? { refused } : {}),
        }),
        [ANNOTATIONS.message]: `${what} (attempt ${attempts}, job ${job.metadata.name}): ${error}`,
      },
    },
    {
      kind: 'event',
      type: 'Warning',
      reason: refused ? 'InstallRefused' : op === 'install' ? 'InstallFailed' : 'UninstallFailed',
      message: `${error} (job ${job.metadata.name}, attempt ${attempts})`,
    },
    { kind: 'observeJob', operation: op, result: 'failed', job },
  ];
}

function installSuccessSteps(
  node: NodeView,
  job: JobView,
  outcome: JobOutcome | undefined,
  now: number,
): Step[] {
  const report = outcome?.report;
  const verified = verifiedRuntimes(job, report);
  if (!report || !report.ok || verified.length === 0) {
    const problem = report?.ok
      ? { ...outcome, problem: 'the installer verified none of the runtimes' }
      : outcome;
    return failureSteps(node, job, problem, now);
  }
  const described = report.runtimes
    .filter((r) => verified.includes(r.name))
    .map((r) => (r.version ? `${r.name} ${r.version}` : r.name))
    .join(', ');
  const unverified = jobRuntimes(job).filter((r) => !verified.includes(r));
  const steps: Step[] = [
    {
      kind: 'patchNode',
      labels: {
        ...runtimeLabelsPatch(node, verified),
        [LABELS.provisioned]: 'true',
        [LABELS.status]: STATUS.ready,
      },
      annotations: {
        [ANNOTATIONS.installedHash]: job.metadata.annotations[ANNOTATIONS.desiredHash] ?? '',
        [ANNOTATIONS.verifiedAt]: new Date(finishedAtMs(job, now)).toISOString(),
        [ANNOTATIONS.verifiedBy]: job.metadata.uid,
        [ANNOTATIONS.bootId]: report.bootId ?? null,
        [ANNOTATIONS.failure]: null,
        [ANNOTATIONS.message]: `verified: ${described}${unverified.length ? `; not verified: ${unverified.join(', ')}` : ''}`,
      },
    },
    {
      kind: 'event',
      type: 'Normal',
      reason: 'Installed',
      message: `installer verified ${described}${report.restarted ? ' (containerd restarted)' : ''}`,
    },
    { kind: 'observeJob', operation: 'install', result: 'succeeded', job },
  ];
  if (unverified.length > 0) {
    steps.push({
      kind: 'event',
      type: 'Warning',
      reason: 'RuntimeNotVerified',
      message: `installer could not verify ${unverified.join(', ')}; no ready label, pods will not be scheduled here for it`,
    });
  }
  return steps;
}

/**
 * Steps that record a finished Job on its node, or that delete it once the record is visible
 * in the cache (deleting earlier could let a stale cache start the same run again).
 */
export function finishedJobSteps(
  node: NodeView,
  job: JobView,
  phase: 'succeeded' | 'failed',
  outcome: JobOutcome | undefined,
  now: number,
): { recorded: boolean; steps: Step[] } {
  const { annotations } = node.metadata;
  const failure = readFailure(node);
  if (failure?.job === job.metadata.name) return { recorded: true, steps: [] };
  const op = jobOperation(job);
  if (op === 'uninstall') {
    if (phase === 'failed')
      return { recorded: false, steps: failureSteps(node, job, outcome, now) };
    const clear = clearMarkersPatch(node);
    const visible =
      Object.keys(clear.labels).every((k) => node.metadata.labels[k] === undefined) &&
      Object.keys(clear.annotations).every((k) => annotations[k] === undefined);
    if (visible) return { recorded: true, steps: [{ kind: 'deleteJob', name: job.metadata.name }] };
    return {
      recorded: false,
      steps: [
        { kind: 'patchNode', ...clear },
        {
          kind: 'event',
          type: 'Normal',
          reason: 'Uninstalled',
          message: `Wasm runtimes removed (job ${job.metadata.name})`,
        },
        { kind: 'observeJob', operation: 'uninstall', result: 'succeeded', job },
      ],
    };
  }
  if (phase === 'failed') return { recorded: false, steps: failureSteps(node, job, outcome, now) };
  const successVisible = annotations[ANNOTATIONS.verifiedBy] === job.metadata.uid;
  if (successVisible)
    return { recorded: true, steps: [{ kind: 'deleteJob', name: job.metadata.name }] };
  return { recorded: false, steps: installSuccessSteps(node, job, outcome, now) };
}
