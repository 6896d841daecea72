import type { V1Job } from '@kubernetes/client-node';
import { ObjectRecorder } from '../../support/object-recorder.ts';
import { NAMESPACE, isFinished, type TestCluster } from './test-cluster.ts';

/**
 * Records every installer Job transition the apiserver reports, so "never more than N at
 * once" is checked against each state the Jobs went through, not against samples.
 */
export class JobActivity {
  readonly active = new Set<string>();
  readonly seen = new Set<string>();
  /** The resourceVersion each Job was first seen with: its creation's, in etcd's order. */
  readonly createdAt = new Map<string, bigint>();
  /** The installer image of each Job seen: which operator release created it. */
  readonly image = new Map<string, string>();
  maxActive = 0;
  #recorder: ObjectRecorder<V1Job> | undefined;

  static async start(c: TestCluster): Promise<JobActivity> {
    const activity = new JobActivity();
    activity.#recorder = await ObjectRecorder.start<V1Job>(
      c.kc,
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
      '',
      (phase, job) => activity.#observe(phase, job),
    );
    return activity;
  }

  #observe(phase: string, job: V1Job): void {
    const name = job.metadata?.name;
    if (!name) return;
    this.seen.add(name);
    if (!this.createdAt.has(name)) this.createdAt.set(name, BigInt(job.metadata!.resourceVersion!));
    this.image.set(name, job.spec?.template.spec?.containers[0]?.image ?? '');
    if (phase === 'DELETED' || isFinished(job)) this.active.delete(name);
    else this.active.add(name);
    this.maxActive = Math.max(this.maxActive, this.active.size);
  }

  stop(): void {
    this.#recorder?.stop();
  }
}
