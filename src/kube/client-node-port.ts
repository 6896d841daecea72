import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  NodeV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import { call } from './api-errors.ts';
import type { EventSpec, KubePort, MetadataPatch } from './kube-port.ts';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const APPLY_PATCH = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/** Event names must be unique; kubelet-style `<object>.<hex time><random>` keeps them short. */
function eventName(objectName: string, now: number): string {
  const suffix = `${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

export interface PortIdentity {
  /** Field manager of server-side applies, and the component Events are reported by. */
  fieldManager: string;
  /** This replica (Events' reportingInstance). */
  reportingInstance: string;
}

/** KubePort over client-node 2.x generated clients. */
export function clientNodePort(kc: KubeConfig, identity: PortIdentity): KubePort {
  const { fieldManager, reportingInstance } = identity;
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const nodeApi = kc.makeApiClient(NodeV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  return {
    async patchNodeMetadata(name: string, patch: MetadataPatch) {
      await call(`patch node ${name}`, () =>
        core.patchNode({ name, body: { metadata: patch } }, MERGE_PATCH),
      );
    },
    async createJob(job) {
      const { namespace = '', name = '' } = job.metadata ?? {};
      const created = await call(
        `create job ${name}`,
        () => batch.createNamespacedJob({ namespace, body: job }),
        [409],
      );
      return created !== undefined;
    },
    async deleteJob(namespace, name) {
      await call(
        `delete job ${name}`,
        () => batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' }),
        [404],
      );
    },
    async listJobPods(namespace, jobUid) {
      const list = await call(`list pods of job ${jobUid}`, () =>
        core.listNamespacedPod({
          namespace,
          labelSelector: `batch.kubernetes.io/controller-uid=${jobUid}`,
        }),
      );
      return list?.items ?? [];
    },
    async listPodsOnNode(nodeName) {
      const list = await call(`list pods on node ${nodeName}`, () =>
        core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }),
      );
      return list?.items ?? [];
    },
    async createEvent(event: EventSpec) {
      const now = new Date();
      await call(`create event ${event.reason}`, () =>
        core.createNamespacedEvent({
          namespace: event.namespace,
          body: {
            metadata: {
              name: eventName(event.involved.name, now.getTime()),
              namespace: event.namespace,
            },
            involvedObject: { apiVersion: 'v1', ...event.involved },
            type: event.type,
            reason: event.reason,
            message: event.message.slice(0, 1024),
            source: { component: fieldManager },
            reportingComponent: fieldManager,
            reportingInstance,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        }),
      );
    },
    async applyRuntimeClass(runtimeClass) {
      const name = runtimeClass.metadata?.name ?? '';
      await call(`apply runtimeclass ${name}`, () =>
        nodeApi.patchRuntimeClass(
          { name, body: runtimeClass, fieldManager, force: true },
          APPLY_PATCH,
        ),
      );
    },
    async listRuntimeClasses(labelSelector) {
      const list = await call('list runtimeclasses', () =>
        nodeApi.listRuntimeClass({ labelSelector }),
      );
      return list?.items ?? [];
    },
    async deleteRuntimeClass(name) {
      await call(`delete runtimeclass ${name}`, () => nodeApi.deleteRuntimeClass({ name }), [404]);
    },
    async getLease(namespace, name) {
      return call(
        `get lease ${name}`,
        () => coordination.readNamespacedLease({ namespace, name }),
        [404],
      );
    },
    async createLease(lease: V1Lease) {
      const namespace = lease.metadata?.namespace ?? '';
      return (await call('create lease', () =>
        coordination.createNamespacedLease({ namespace, body: lease }),
      ))!;
    },
    async replaceLease(lease: V1Lease) {
      const { namespace = '', name = '' } = lease.metadata ?? {};
      return (await call('replace lease', () =>
        coordination.replaceNamespacedLease({ namespace, name, body: lease }),
      ))!;
    },
  };
}
