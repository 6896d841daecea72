import type { V1Job, V1Node } from '@kubernetes/client-node';

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

/**
 * What the caches keep of a Node's status: whether it is Ready, and its boot id (a new one
 * means it rebooted, or was re-imaged under the same Node object).
 */
export interface NodeStatusView {
  metadata: { name: string; uid: string; resourceVersion: string };
  status: { bootID?: string; ready?: boolean };
}

export function nodeStatusViewOf(node: V1Node): NodeStatusView {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return {
    metadata: {
      name: node.metadata?.name ?? '',
      uid: node.metadata?.uid ?? '',
      resourceVersion: node.metadata?.resourceVersion ?? '',
    },
    status: {
      bootID: node.status?.nodeInfo?.bootID || undefined,
      ready: ready === undefined ? undefined : ready === 'True',
    },
  };
}

export function sameNodeStatus(a: NodeStatusView, b: NodeStatusView): boolean {
  return a.status.bootID === b.status.bootID && a.status.ready === b.status.ready;
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

/** Which annotations a view keeps (the caller's own, say): all others are dropped. */
export type AnnotationFilter = (key: string) => boolean;

function iso(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

function keep(
  annotations: Record<string, string> | undefined,
  filter: AnnotationFilter,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (filter(key)) kept[key] = value;
  }
  return kept;
}

/** Keeps all labels (selectors need them) but only the annotations the filter accepts. */
export function nodeViewOf(node: V1Node, filter: AnnotationFilter): NodeView {
  return {
    metadata: {
      name: node.metadata?.name ?? '',
      uid: node.metadata?.uid ?? '',
      resourceVersion: node.metadata?.resourceVersion ?? '',
      labels: { ...node.metadata?.labels },
      annotations: keep(node.metadata?.annotations, filter),
    },
  };
}

export function jobViewOf(job: V1Job, filter: AnnotationFilter): JobView {
  return {
    metadata: {
      name: job.metadata?.name ?? '',
      uid: job.metadata?.uid ?? '',
      namespace: job.metadata?.namespace ?? '',
      resourceVersion: job.metadata?.resourceVersion ?? '',
      labels: { ...job.metadata?.labels },
      annotations: keep(job.metadata?.annotations, filter),
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

/** Two views of one object say the same, whatever their resourceVersions. */
export function sameNodeView(a: NodeView, b: NodeView): boolean {
  const same = (x: Record<string, string>, y: Record<string, string>) => {
    const keys = Object.keys(x);
    return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
  };
  return (
    a.metadata.uid === b.metadata.uid &&
    same(a.metadata.labels, b.metadata.labels) &&
    same(a.metadata.annotations, b.metadata.annotations)
  );
}

export type JobPhase = 'running' | 'succeeded' | 'failed';

/**
 * FailureTarget counts as failed: the Job controller has decided, and waits only for the pods
 * to terminate, which on a node that died mid-run they never do (the Job would hold its
 * rollout slot forever).
 */
const FAILED = ['Failed', 'FailureTarget'];

export function jobPhase(job: JobView): JobPhase {
  const done = (types: string[]) =>
    job.status.conditions.some((c) => types.includes(c.type) && c.status === 'True');
  if (done(['Complete'])) return 'succeeded';
  if (done(FAILED)) return 'failed';
  return 'running';
}

/** When the Job finished: completionTime, else the terminal condition's transition time. */
export function jobFinishedAt(job: JobView): string | undefined {
  if (job.status.completionTime) return job.status.completionTime;
  const terminal = job.status.conditions.find(
    (c) => (c.type === 'Complete' || FAILED.includes(c.type)) && c.status === 'True',
  );
  return terminal?.lastTransitionTime;
}
