import type { V1Job } from '@kubernetes/client-node';
import type { Config } from '../config.ts';
import { HOST_ROOT, installerArgs } from './desired-state.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY_VALUE, type Operation } from '../keys.ts';
import { jobName, nodeHash } from './names.ts';

export interface JobRequest {
  nodeName: string;
  nodeUid: string;
  operation: Operation;
  runtimes: readonly string[];
  /** Desired-state hash the Job installs (recorded on the node when it succeeds). */
  hash: string;
  /** Failure attempt this run counts as; part of the name so a retry never reuses one. */
  attempt: number;
  /** The node's last verification (its Job's uid); part of the name so a re-verification is a new run. */
  verifiedBy: string;
}

export function jobNameFor(req: Omit<JobRequest, 'nodeUid' | 'runtimes'>): string {
  return jobName(req.operation, req.nodeName, `${req.hash}/${req.attempt}/${req.verifiedBy}`);
}

/** Labels that select all of this operator's Jobs (the Job informer's selector). */
export const JOB_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY_VALUE}`;

/**
 * The privileged installer Job, pinned to one node. Pure: everything it needs is passed in.
 */
export function buildInstallerJob(req: JobRequest, config: Config): V1Job {
  const { installer, namespace } = config;
  const name = jobNameFor(req);
  const labels = {
    [LABELS.managedBy]: MANAGED_BY_VALUE,
    [LABELS.component]: 'installer',
    [LABELS.operation]: req.operation,
    [LABELS.nodeHash]: nodeHash(req.nodeName),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels,
      annotations: {
        [ANNOTATIONS.node]: req.nodeName,
        [ANNOTATIONS.desiredHash]: req.hash,
        [ANNOTATIONS.attempt]: String(req.attempt),
        [ANNOTATIONS.runtimes]: req.runtimes.join(','),
      },
      // The Node owns its Jobs, so deleting a node garbage-collects them (namespaced children
      // may have cluster-scoped owners).
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Node',
          name: req.nodeName,
          uid: req.nodeUid,
          blockOwnerDeletion: false,
        },
      ],
    },
    spec: {
      backoffLimit: installer.backoffLimit,
      activeDeadlineSeconds: Math.ceil(installer.activeDeadline / 1000),
      ttlSecondsAfterFinished: Math.ceil(installer.ttlAfterFinished / 1000),
      template: {
        metadata: {
          labels: { ...labels, [LABELS.job]: name },
          // Evicting it mid-restart (scale-down) would leave containerd's config unverified.
          annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
        },
        spec: {
          terminationGracePeriodSeconds: Math.ceil(installer.terminationGracePeriod / 1000),
          nodeName: req.nodeName,
          // The kubelet refuses it (NodeAffinity) on a node the operator misjudged as Linux.
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          hostPID: true,
          restartPolicy: 'Never',
          priorityClassName: installer.priorityClassName || undefined,
          serviceAccountName: installer.serviceAccountName,
          automountServiceAccountToken: false,
          imagePullSecrets: installer.imagePullSecrets.map((name) => ({ name })),
          // nodeName bypasses the scheduler but not taint admission (NoExecute evicts):
          // the installer must run on tainted and not-ready nodes alike.
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'installer',
              image: installer.image,
              imagePullPolicy: installer.imagePullPolicy,
              args: installerArgs(req.operation, req.runtimes, installer),
              securityContext: { privileged: true },
              resources: {
                requests: installer.resources.requests,
                limits: installer.resources.limits,
              },
              volumeMounts: [{ name: 'host-root', mountPath: HOST_ROOT }],
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [{ name: 'host-root', hostPath: { path: '/', type: 'Directory' } }],
        },
      },
    },
  };
}
