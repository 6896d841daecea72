import type { V1Job, V1Node } from '@kubernetes/client-node';
import { ANNOTATIONS, DOMAIN, LABELS } from '../operator/keys.ts';

/**
 * What the caches keep of each object. At thousands of nodes a full V1Node (images, status,
 * managedFields) is tens of KB; these views keep only what the operator decides on, and are
 * shaped like KubernetesObjects so client-node's ListWatch can store them. A metadata-only
 * watch (PartialObjectMetadata) yields the same view, so either source plugs in.
 */
export interface NodeView {
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface JobView {
  metadata: {
    name: string;
    /** Names are reused by a retry after its failed Job is deleted; the uid tells runs apart. */
    uid: string;
    namespace: string;
    resourceVersion: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  status: {
    active: number;
    startTime?: string;
    completionTime?: string;
    conditions: JobCondition[];
  };
}

function iso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** Keeps all labels (selectors need them) but only our annotations and the opt-in key. */
export function nodeViewOf(node: V1Node, optInAnnotation: string): NodeView {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(node.metadata?.annotations ?? {})) {
    if (key === optInAnnotation || key.startsWith(`${DOMAIN}/`)) annotations[key] = value;
  }
  return {
    metadata: {
      name: node.metadata?.name ?? '',
      uid: node.metadata?.uid ?? '',
      resourceVersion: node.metadata?.resourceVersion ?? '',
      labels: { ...node.metadata?.labels },
      annotations,
    },
  };
}

export function jobViewOf(job: V1Job): JobView {
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(job.metadata?.annotations ?? {})) {
    if (key.startsWith(`${DOMAIN}/`)) annotations[key] = value;
  }
  return {
    metadata: {
      name: job.metadata?.name ?? '',
      uid: job.metadata?.uid ?? '',
      namespace: job.metadata?.namespace ?? '',
      resourceVersion: job.metadata?.resourceVersion ?? '',
      labels: { ...job.metadata?.labels },
      annotations,
    },
    status: {
      active: job.status?.active ?? 0,
      startTime: iso(job.status?.startTime),
      completionTime: iso(job.status?.completionTime),
      conditions: (job.status?.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: iso(c.lastTransitionTime),
      })),
    },
  };
}

export type JobPhase = 'running' | 'succeeded' | 'failed';

export function jobPhase(job: JobView): JobPhase {
  const done = (type: string) =>
    job.status.conditions.some((c) => c.type === type && c.status === 'True');
  if (done('Complete')) return 'succeeded';
  if (done('Failed')) return 'failed';
  return 'running';
}

export function jobNode(job: JobView): string | undefined {
  return job.metadata.annotations[ANNOTATIONS.node];
}

export function jobOperation(job: JobView): string | undefined {
  return job.metadata.labels[LABELS.operation];
}

/** When the Job finished: completionTime, else the terminal condition's transition time. */
export function jobFinishedAt(job: JobView): string | undefined {
  if (job.status.completionTime) return job.status.completionTime;
  const terminal = job.status.conditions.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
  return terminal?.lastTransitionTime;
}
