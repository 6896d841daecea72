import type { JobView } from '../../kube/views.ts';
import { ANNOTATIONS, LABELS } from '../keys.ts';

/** The node an installer Job is for (labels cannot hold a 253-character node name). */
export function jobNode(job: JobView): string | undefined {
  return job.metadata.annotations[ANNOTATIONS.node];
}

export function jobOperation(job: JobView): string | undefined {
  return job.metadata.labels[LABELS.operation];
}

/** The runtimes the Job was started for. */
export function jobRuntimes(job: JobView): string[] {
  return (job.metadata.annotations[ANNOTATIONS.runtimes] ?? '').split(',').filter((r) => r !== '');
}
