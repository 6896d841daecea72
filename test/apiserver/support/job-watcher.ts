import { Watch, type V1Job } from '@kubernetes/client-node';
import { NAMESPACE, isFinished, type TestCluster } from './cluster.ts';

/**
 * Watches installer Jobs and records every transition, so "never more than N at once" is
 * checked against each state the apiserver went through, not against samples.
 */
export class JobWatcher {
  readonly active = new Set<string>();
  readonly seen = new Set<string>();
  maxActive = 0;
  #controller: AbortController | undefined;

  static async start(c: TestCluster): Promise<JobWatcher> {
    const watcher = new JobWatcher();
    watcher.#controller = await new Watch(c.kc).watch(
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
      {},
      (phase, job: V1Job) => watcher.#observe(phase, job),
      () => undefined,
    );
    return watcher;
  }

  #observe(phase: string, job: V1Job): void {
    const name = job.metadata?.name;
    if (!name) return;
    this.seen.add(name);
    if (phase === 'DELETED' || isFinished(job)) this.active.delete(name);
    else this.active.add(name);
    this.maxActive = Math.max(this.maxActive, this.active.size);
  }

  stop(): void {
    this.#controller?.abort();
  }
}
