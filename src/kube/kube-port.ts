import type { V1Job, V1Pod, V1RuntimeClass } from '@kubernetes/client-node';
import type { Informer, InformerHandlers } from '../controller/informer.ts';
import type { LeasePort } from '../controller/leader-elector.ts';
import type { JobView, NodeStatusView, NodeView } from './views.ts';

export interface MetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

export interface EventSpec {
  namespace: string;
  /** The object the Event is about (cluster-scoped objects' Events go to `namespace`). */
  involved: { apiVersion: string; kind: string; name: string; uid: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * Every API call the operator makes, as a small interface: reconcilers and the elector depend
 * on it, tests can substitute it, and client-node details (patch content types, ApiException
 * bodies) stay in one file. Failures are ReconcileErrors (reason Conflict/NotFound/KubeApi).
 */
export interface KubePort extends LeasePort {
  /** JSON merge patch of metadata only: nodes are shared with the kubelet and others. */
  patchNodeMetadata(name: string, patch: MetadataPatch): Promise<void>;
  /**
   * Creates the Job; false if it already existed, which counts as success because names are
   * deterministic.
   */
  createJob(job: V1Job): Promise<boolean>;
  /** Deletes with background propagation; a missing Job counts as success. */
  deleteJob(namespace: string, name: string): Promise<void>;
  /**
   * The pods of one Job run: selected by `labelSelector` (a label of the Job's own template),
   * kept if owned by `job.uid` (a retry reuses the name, never the uid).
   */
  listJobPods(namespace: string, job: { uid: string; labelSelector: string }): Promise<V1Pod[]>;
  listPodsOnNode(nodeName: string): Promise<V1Pod[]>;
  createEvent(event: EventSpec): Promise<void>;
  /** Server-side apply with the port's field manager, forced. */
  applyRuntimeClass(runtimeClass: V1RuntimeClass): Promise<void>;
  listRuntimeClasses(labelSelector: string): Promise<V1RuntimeClass[]>;
  deleteRuntimeClass(name: string): Promise<void>;
}

/** The watched caches the operator reads: informers come from here, not from client-node. */
export interface InformerFactory {
  /** All Nodes, as NodeViews; `metadataOnly` lists and watches PartialObjectMetadata. */
  nodes(
    handlers: InformerHandlers<NodeView>,
    opts: { metadataOnly: boolean; resyncMs: number },
  ): Informer<NodeView>;
  /**
   * The status (Ready, boot id) of the Nodes matching a label selector: whole Nodes are read
   * for it, so only the few the operator needs (its own, the control plane's).
   */
  nodeStatuses(
    handlers: InformerHandlers<NodeStatusView>,
    opts: { labelSelector: string },
  ): Informer<NodeStatusView>;
  /** The Jobs of one namespace matching a label selector, as JobViews. */
  jobs(
    handlers: InformerHandlers<JobView>,
    opts: { namespace: string; labelSelector: string },
  ): Informer<JobView>;
}
