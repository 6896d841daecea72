import { jobPhase, type JobView } from '../../kube/views.ts';
import { jobNode } from '../plan/job-records.ts';

/** Index of the Job cache by node, plus the nodes with an unfinished Job (rollout slots). */
export class JobIndex {
  readonly #byNode = new Map<string, Map<string, JobView>>();
  readonly running = new Set<string>();

  /** Returns the node the Job belongs to, if it is ours. */
  upsert(job: JobView): string | undefined {
    const node = jobNode(job);
    if (node === undefined) return undefined;
    let jobs = this.#byNode.get(node);
    if (!jobs) this.#byNode.set(node, (jobs = new Map()));
    jobs.set(job.metadata.name, job);
    this.#refresh(node);
    return node;
  }

  remove(job: JobView): string | undefined {
    const node = jobNode(job);
    if (node === undefined) return undefined;
    const jobs = this.#byNode.get(node);
    jobs?.delete(job.metadata.name);
    if (jobs?.size === 0) this.#byNode.delete(node);
    this.#refresh(node);
    return node;
  }

  jobsFor(node: string): JobView[] {
    return [...(this.#byNode.get(node)?.values() ?? [])];
  }

  #refresh(node: string): void {
    const busy = this.jobsFor(node).some((j) => jobPhase(j) === 'running');
    if (busy) this.running.add(node);
    else this.running.delete(node);
  }
}
