import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  NodeV1Api,
  PatchStrategy,
  type ConfigurationOptions,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import { call, type CallOptions } from './api-errors.ts';
import type { EventSpec, KubePort, MetadataPatch } from './kube-port.ts';

const MERGE_PATCH = { 'Content-Type': PatchStrategy.MergePatch };
const APPLY_PATCH = { 'Content-Type': PatchStrategy.ServerSideApply };

/** Event names must be unique; kubelet-style `<object>.<hex time><random>` keeps them short. */
function eventName(objectName: string, now: number): string {
  const suffix = `${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

export interface PortOptions {
  /** Field manager of server-side applies, and the component Events are reported by. */
  fieldManager: string;
  /** This replica (Events' reportingInstance). */
  reportingInstance: string;
  /** Every call is aborted after this (a reason `Timeout` error). */
  requestTimeoutMs: number;
}

/** KubePort over client-node 2.x generated clients. */
export function clientNodePort(kc: KubeConfig, opts: PortOptions): KubePort {
  const { fieldManager, reportingInstance, requestTimeoutMs } = opts;
  const run = <T>(
    action: string,
    fn: (options: ConfigurationOptions) => Promise<T>,
    extra: Omit<CallOptions, 'timeoutMs'> = {},
  ) => call(action, fn, { timeoutMs: requestTimeoutMs, ...extra });
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const nodeApi = kc.makeApiClient(NodeV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  return {
    async patchNodeMetadata(name: string, patch: MetadataPatch) {
      await run(
        `patch node ${name}`,
        (o) => core.patchNode({ name, body: { metadata: patch } }, o),
        {
          headers: MERGE_PATCH,
        },
      );
    },
    async createJob(job) {
      const { namespace = '', name = '' } = job.metadata ?? {};
      const created = await run(
        `create job ${name}`,
        (o) => batch.createNamespacedJob({ namespace, body: job }, o),
        { tolerate: [409] },
      );
      return created !== undefined;
    },
    async deleteJob(namespace, name) {
      await run(
        `delete job ${name}`,
        (o) => batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' }, o),
        { tolerate: [404] },
      );
    },
    async listJobPods(namespace, { uid, labelSelector }) {
      const list = await run(`list pods of job ${uid}`, (o) =>
        core.listNamespacedPod({ namespace, labelSelector }, o),
      );
      return (list?.items ?? []).filter((p) =>
        p.metadata?.ownerReferences?.some((owner) => owner.uid === uid),
      );
    },
    async listPodsOnNode(nodeName) {
      const list = await run(`list pods on node ${nodeName}`, (o) =>
        core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }, o),
      );
      return list?.items ?? [];
    },
    async createEvent(event: EventSpec) {
      const now = new Date();
      const body = {
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
      await run(`create event ${event.reason}`, (o) =>
        core.createNamespacedEvent({ namespace: event.namespace, body }, o),
      );
    },
    async applyRuntimeClass(runtimeClass) {
      const name = runtimeClass.metadata?.name ?? '';
      await run(
        `apply runtimeclass ${name}`,
        (o) =>
          nodeApi.patchRuntimeClass({ name, body: runtimeClass, fieldManager, force: true }, o),
        { headers: APPLY_PATCH },
      );
    },
    async listRuntimeClasses(labelSelector) {
      const list = await run('list runtimeclasses', (o) =>
        nodeApi.listRuntimeClass({ labelSelector }, o),
      );
      return list?.items ?? [];
    },
    async deleteRuntimeClass(name) {
      await run(`delete runtimeclass ${name}`, (o) => nodeApi.deleteRuntimeClass({ name }, o), {
        tolerate: [404],
      });
    },
    async getLease(namespace, name) {
      return run(
        `get lease ${name}`,
        (o) => coordination.readNamespacedLease({ namespace, name }, o),
        {
          tolerate: [404],
        },
      );
    },
    async createLease(lease: V1Lease) {
      const namespace = lease.metadata?.namespace ?? '';
      return (await run('create lease', (o) =>
        coordination.createNamespacedLease({ namespace, body: lease }, o),
      ))!;
    },
    async replaceLease(lease: V1Lease) {
      const { namespace = '', name = '' } = lease.metadata ?? {};
      return (await run('replace lease', (o) =>
        coordination.replaceNamespacedLease({ namespace, name, body: lease }, o),
      ))!;
    },
  };
}
