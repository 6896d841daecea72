import type { V1Job, V1Lease, V1Pod, V1RuntimeClass } from '@kubernetes/client-node';
import { ReconcileError } from '../controller/errors.ts';
import type { Transport } from './http2-transport.ts';
import type { EventSpec, KubePort, MetadataPatch } from './kube-port.ts';

/** Responses that are only checked for success: the apiserver then sends metadata only. */
export const METADATA_OBJECT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const JSON_TYPE = 'application/json';
const MERGE_PATCH = 'application/merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

/** Event names must be unique; kubelet-style `<object>.<hex time><random>` keeps them short. */
function eventName(objectName: string, now: number): string {
  const suffix = `${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

/** The message of an apiserver Status body, or the start of whatever came instead. */
function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string };
    if (status.message) return status.message;
  } catch {
    // not JSON: a proxy's error page, say
  }
  return body.slice(0, 200);
}

export interface PortOptions {
  /** Field manager of server-side applies, and the component Events are reported by. */
  fieldManager: string;
  /** This replica (Events' reportingInstance). */
  reportingInstance: string;
  /** Every call is aborted after this (a reason `Timeout` error). */
  requestTimeoutMs: number;
}

interface Call {
  action: string;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  /** Accept header; the whole object by default. */
  accept?: string;
  /** HTTP statuses that mean success here (409 on create, 404 on delete): `undefined`. */
  tolerate?: number[];
}

const query = (params: Record<string, string | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

/**
 * KubePort over one pooled transport: JSON in, JSON out, no generated client. A call that
 * only needs success asks for metadata back, which the apiserver encodes and we parse at a
 * fraction of the object's size.
 */
export function apiPort(transport: Transport, opts: PortOptions): KubePort {
  const { fieldManager, reportingInstance, requestTimeoutMs } = opts;

  async function call<T>(c: Call): Promise<T | undefined> {
    let res;
    try {
      res = await transport.request({
        method: c.method,
        path: c.path,
        headers: {
          accept: c.accept ?? JSON_TYPE,
          ...(c.body === undefined ? {} : { 'content-type': c.contentType ?? JSON_TYPE }),
        },
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        timeoutMs: requestTimeoutMs,
      });
    } catch (err) {
      const timedOut = (err as { name?: unknown } | null)?.name === 'TimeoutError';
      const message = err instanceof Error ? err.message : String(err);
      throw new ReconcileError(timedOut ? 'Timeout' : 'KubeApi', `${c.action}: ${message}`, {
        cause: err,
      });
    }
    if (res.status >= 200 && res.status <= 299)
      return c.accept === METADATA_OBJECT ? undefined : (JSON.parse(res.body) as T);
    if (c.tolerate?.includes(res.status)) return undefined;
    const reason = res.status === 409 ? 'Conflict' : res.status === 404 ? 'NotFound' : 'KubeApi';
    throw new ReconcileError(reason, `${c.action}: ${statusMessage(res.body)}`, {
      status: res.status,
    });
  }
  const jobs = (namespace: string) => `/apis/batch/v1/namespaces/${namespace}/jobs`;
  const leases = (namespace: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  const runtimeClasses = '/apis/node.k8s.io/v1/runtimeclasses';

  return {
    async patchNodeMetadata(name: string, patch: MetadataPatch) {
      await call({
        action: `patch node ${name}`,
        method: 'PATCH',
        path: `/api/v1/nodes/${name}`,
        body: { metadata: patch },
        contentType: MERGE_PATCH,
        accept: METADATA_OBJECT,
      });
    },
    async createJob(job: V1Job) {
      const { namespace = '', name = '' } = job.metadata ?? {};
      const conflict = { value: false };
      await call({
        action: `create job ${name}`,
        method: 'POST',
        path: jobs(namespace),
        body: job,
        accept: METADATA_OBJECT,
      }).catch((err: unknown) => {
        if (err instanceof ReconcileError && err.status === 409) conflict.value = true;
        else throw err;
      });
      return !conflict.value;
    },
    async deleteJob(namespace, name) {
      await call({
        action: `delete job ${name}`,
        method: 'DELETE',
        path: `${jobs(namespace)}/${name}${query({ propagationPolicy: 'Background' })}`,
        accept: METADATA_OBJECT,
        tolerate: [404],
      });
    },
    async listJobPods(namespace, { uid, labelSelector }) {
      const list = await call<{ items: V1Pod[] | null }>({
        action: `list pods of job ${uid}`,
        method: 'GET',
        path: `/api/v1/namespaces/${namespace}/pods${query({ labelSelector })}`,
      });
      return (list?.items ?? []).filter((p) =>
        p.metadata?.ownerReferences?.some((owner) => owner.uid === uid),
      );
    },
    async listPodsOnNode(nodeName) {
      const list = await call<{ items: V1Pod[] | null }>({
        action: `list pods on node ${nodeName}`,
        method: 'GET',
        path: `/api/v1/pods${query({ fieldSelector: `spec.nodeName=${nodeName}` })}`,
      });
      return list?.items ?? [];
    },
    async createEvent(event: EventSpec) {
      const now = new Date();
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: eventName(event.involved.name, now.getTime()),
          namespace: event.namespace,
        },
        involvedObject: event.involved,
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        source: { component: fieldManager },
        reportingComponent: fieldManager,
        reportingInstance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await call({
        action: `create event ${event.reason}`,
        method: 'POST',
        path: `/api/v1/namespaces/${event.namespace}/events`,
        body,
        accept: METADATA_OBJECT,
      });
    },
    async applyRuntimeClass(runtimeClass: V1RuntimeClass) {
      const name = runtimeClass.metadata?.name ?? '';
      await call({
        action: `apply runtimeclass ${name}`,
        method: 'PATCH',
        path: `${runtimeClasses}/${name}${query({ fieldManager, force: 'true' })}`,
        body: runtimeClass,
        contentType: APPLY_PATCH,
        accept: METADATA_OBJECT,
      });
    },
    async listRuntimeClasses(labelSelector) {
      const list = await call<{ items: V1RuntimeClass[] | null }>({
        action: 'list runtimeclasses',
        method: 'GET',
        path: `${runtimeClasses}${query({ labelSelector })}`,
      });
      return list?.items ?? [];
    },
    async deleteRuntimeClass(name) {
      await call({
        action: `delete runtimeclass ${name}`,
        method: 'DELETE',
        path: `${runtimeClasses}/${name}`,
        accept: METADATA_OBJECT,
        tolerate: [404],
      });
    },
    getLease(namespace, name) {
      return call<V1Lease>({
        action: `get lease ${name}`,
        method: 'GET',
        path: `${leases(namespace)}/${name}`,
        tolerate: [404],
      });
    },
    async createLease(lease: V1Lease) {
      const namespace = lease.metadata?.namespace ?? '';
      return (await call<V1Lease>({
        action: 'create lease',
        method: 'POST',
        path: leases(namespace),
        body: lease,
      }))!;
    },
    async replaceLease(lease: V1Lease) {
      const { namespace = '', name = '' } = lease.metadata ?? {};
      return (await call<V1Lease>({
        action: 'replace lease',
        method: 'PUT',
        path: `${leases(namespace)}/${name}`,
        body: lease,
      }))!;
    },
  };
}
