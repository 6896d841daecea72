import { PatchStrategy, setHeaderOptions, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { INSTALL_REPORT_SCHEMA, type InstallReport } from '../../../src/formats/install-report.ts';
import { waitFor } from '../../support/wait.ts';
import { NAMESPACE, type TestCluster } from './test-cluster.ts';

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function installReport(
  runtimes: string[],
  opts: {
    ok?: boolean;
    unverified?: string[];
    error?: string;
    /** The installer refused the node (changed nothing) rather than failed. */
    refused?: boolean;
    /** The node's boot id as the installer read it. */
    bootId?: string;
    operation?: 'install' | 'uninstall';
  } = {},
): InstallReport {
  const ok = opts.ok ?? true;
  return {
    schema: INSTALL_REPORT_SCHEMA,
    operation: opts.operation ?? 'install',
    ok,
    runtimes: runtimes.map((name) => ({
      name,
      version: '1.0.0',
      verified: ok && !(opts.unverified ?? []).includes(name),
      adopted: false,
    })),
    changed: true,
    restarted: true,
    rolledBack: false,
    durationMs: 1500,
    ...(opts.bootId ? { bootId: opts.bootId } : {}),
    ...(opts.error
      ? {
          error: {
            code: opts.refused ? 'unsupported' : 'InstallFailed',
            message: opts.error,
            kind: opts.refused ? ('refused' as const) : ('failed' as const),
          },
        }
      : {}),
  };
}

/**
 * Stands in for the kubelet (and, without kube-controller-manager, for the Job controller):
 * there is no node agent in these tests, so the test finishes installer Jobs itself through
 * the pods/status and jobs/status subresources, with the termination message the real
 * installer would leave.
 */
/**
 * A Job's pod labels: its template's (the apiserver adds the selector labels to the template
 * when it creates the Job) plus the Job controller's. Kubernetes 1.27 added the
 * `batch.kubernetes.io/` ones; 1.25 and 1.26 set only `controller-uid` and `job-name`.
 */
const JOB_POD_LABELS = {
  current: (job: V1Job) => ({
    ...job.spec!.template.metadata?.labels,
    'batch.kubernetes.io/job-name': job.metadata!.name!,
    'batch.kubernetes.io/controller-uid': job.metadata!.uid!,
  }),
  '1.25': (job: V1Job) => ({
    ...Object.fromEntries(
      Object.entries(job.spec!.template.metadata?.labels ?? {}).filter(
        ([key]) => !key.startsWith('batch.kubernetes.io/'),
      ),
    ),
    'job-name': job.metadata!.name!,
    'controller-uid': job.metadata!.uid!,
  }),
};

export class FakeKubelet {
  readonly #c: TestCluster;
  /** true: create the Job's pod and set Job status too (no kube-controller-manager). */
  readonly #actAsJobController: boolean;
  readonly #podLabels: (job: V1Job) => Record<string, string>;

  constructor(
    c: TestCluster,
    opts: { actAsJobController: boolean; jobController?: keyof typeof JOB_POD_LABELS },
  ) {
    this.#c = c;
    this.#actAsJobController = opts.actAsJobController;
    this.#podLabels = JOB_POD_LABELS[opts.jobController ?? 'current'];
  }

  /**
   * Finishes the Job's pod with the given exit code and termination message; acting as the
   * Job controller, returns the resourceVersion of the Job's finished status.
   */
  async finish(
    job: V1Job,
    result: { exitCode: number; message: string },
  ): Promise<string | undefined> {
    const pod = this.#actAsJobController
      ? await this.#createPod(job)
      : await this.#controllerPod(job.metadata!.uid!);
    const now = new Date();
    const started = new Date(now.getTime() - 2000);
    await this.#c.core.patchNamespacedPodStatus(
      {
        namespace: NAMESPACE,
        name: pod.metadata!.name!,
        body: {
          status: {
            phase: result.exitCode === 0 ? 'Succeeded' : 'Failed',
            startTime: started,
            containerStatuses: [
              {
                name: 'installer',
                image: job.spec!.template.spec!.containers[0]!.image,
                imageID: 'sha256:test',
                ready: false,
                restartCount: 0,
                state: {
                  terminated: {
                    exitCode: result.exitCode,
                    reason: result.exitCode === 0 ? 'Completed' : 'Error',
                    message: result.message,
                    startedAt: started,
                    finishedAt: now,
                  },
                },
              },
            ],
          },
        },
      },
      MERGE,
    );
    if (!this.#actAsJobController) return undefined;
    return this.#setJobStatus(job, result.exitCode === 0, started, now);
  }

  /**
   * The Job controller has decided the Job failed (FailureTarget) but its pod never
   * terminates: its node died mid-run. The pod keeps running as far as the API knows.
   */
  async strandInFailureTarget(job: V1Job): Promise<void> {
    if (this.#actAsJobController) await this.#createPod(job);
    const now = new Date();
    await this.#c.batch.patchNamespacedJobStatus(
      {
        namespace: NAMESPACE,
        name: job.metadata!.name!,
        body: {
          status: {
            startTime: now,
            active: 0,
            terminating: 1,
            uncountedTerminatedPods: {},
            conditions: [
              {
                type: 'FailureTarget',
                status: 'True',
                reason: 'DeadlineExceeded',
                message: 'Job was active longer than specified deadline',
                lastProbeTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      MERGE,
    );
  }

  /**
   * Posts the Node's status as its kubelet would: the Ready condition and the boot id (a new
   * one after a reboot). Returns the resourceVersion of the write (etcd orders all writes).
   */
  async postNodeStatus(name: string, status: { ready: boolean; bootID: string }): Promise<string> {
    const now = new Date();
    const node = await this.#c.core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            nodeInfo: { bootID: status.bootID },
            conditions: [
              {
                type: 'Ready',
                status: status.ready ? 'True' : 'False',
                reason: status.ready ? 'KubeletReady' : 'KubeletNotReady',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      MERGE,
    );
    return node.metadata!.resourceVersion!;
  }

  /** Finishes the Job with an installer report as the termination message. */
  finishWithReport(job: V1Job, report: InstallReport): Promise<string | undefined> {
    return this.finish(job, { exitCode: report.ok ? 0 : 1, message: JSON.stringify(report) });
  }

  async #createPod(job: V1Job): Promise<V1Pod> {
    const name = job.metadata!.name!;
    const template = job.spec!.template;
    return this.#c.core.createNamespacedPod({
      namespace: NAMESPACE,
      body: {
        metadata: {
          // Like the Job controller: a random suffix, and its labels.
          name: `${name}-${Math.random().toString(36).slice(2, 7)}`,
          labels: this.#podLabels(job),
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'Job',
              name,
              uid: job.metadata!.uid!,
              controller: true,
            },
          ],
        },
        spec: template.spec!,
      },
    });
  }

  #controllerPod(jobUid: string): Promise<V1Pod> {
    return waitFor(
      `the Job controller's pod for job ${jobUid}`,
      async () => {
        const pods = await this.#c.core.listNamespacedPod({
          namespace: NAMESPACE,
          labelSelector: `batch.kubernetes.io/controller-uid=${jobUid}`,
        });
        return pods.items[0];
      },
      { timeoutMs: 30_000 },
    );
  }

  async #setJobStatus(
    job: V1Job,
    succeeded: boolean,
    started: Date,
    finished: Date,
  ): Promise<string> {
    const transition = { status: 'True', lastProbeTime: finished, lastTransitionTime: finished };
    const conditions = succeeded
      ? [
          { type: 'SuccessCriteriaMet', ...transition },
          { type: 'Complete', ...transition },
        ]
      : [
          {
            type: 'FailureTarget',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            ...transition,
          },
          {
            type: 'Failed',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            ...transition,
          },
        ];
    const patched = await this.#c.batch.patchNamespacedJobStatus(
      {
        namespace: NAMESPACE,
        name: job.metadata!.name!,
        body: {
          status: {
            startTime: started,
            ...(succeeded ? { completionTime: finished, succeeded: 1 } : { failed: 1 }),
            active: 0,
            ready: 0,
            terminating: 0,
            uncountedTerminatedPods: {},
            conditions,
          },
        },
      },
      MERGE,
    );
    return patched.metadata!.resourceVersion!;
  }
}
