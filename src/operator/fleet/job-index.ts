import { jobPhase, type JobView } from '../../kube/views.ts';
import { jobNode } from '../plan/job-records.ts';

/**
 * Index of the Job cache by node, plus the nodes with an unfinished Job (rollout slots). Only
 * nodes the Node cache holds count as running: Jobs of deleted nodes wait for garbage
 * collection and hold no slot. Kept up to date from both caches' events, so the gate reads it
 * in O(1) instead of filtering every running node per reconcile.
 */
export class JobIndex {
  readonly #byNode = new Map<string, Map<string, JobView>>();
  readonly #present = new Set<string>();
  readonly running = new Set<string>();

  /** The Node cache has (or no longer has) this node. */
  nodePresent(node: string, present: boolean): void {
    if (present === this.#present.has(node)) return;
    if (present) this.#present.add(node);
    else this.#present.delete(node);
    this.#refresh(node);
  }

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
    const jobs = this.#byNode.get(node)?.values() ?? [];
    const busy = this.#present.has(node) && [...jobs].some((j) => jobPhase(j) === 'running');
    if (busy) this.running.add(node);
    else this.running.delete(node);
  }
}
