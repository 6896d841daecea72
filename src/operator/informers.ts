import {
  BatchV1Api,
  CoreV1Api,
  setHeaderOptions,
  type KubeConfig,
  type V1Job,
  type V1Node,
} from '@kubernetes/client-node';
import { ResilientInformer, type Lifecycle } from '../kube/informer.ts';
import { jobViewOf, nodeViewOf, type JobView, type NodeView } from '../kube/views.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { JOB_SELECTOR } from './job-builder.ts';

/** Media types of a metadata-only list and watch (what client-go's metadata informer sends). */
export const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export interface InformerHandlers<T> {
  onAdd: (obj: T) => void;
  onUpdate: (obj: T) => void;
  onDelete: (obj: T) => void;
  onResync?: () => void;
  onLifecycle: (event: Lifecycle, detail?: string) => void;
}

function common(kc: KubeConfig, clock: Clock, config: Config) {
  return {
    kc,
    clock,
    restartBackoff: config.watch.restartBackoff,
    watchTimeoutMs: config.watch.timeout,
  };
}

/** All Nodes (opt-in may come from any label), slimmed to NodeViews; full or metadata-only. */
export function nodeInformer(
  kc: KubeConfig,
  clock: Clock,
  config: Config,
  handlers: InformerHandlers<NodeView>,
): ResilientInformer<NodeView> {
  const core = kc.makeApiClient(CoreV1Api);
  const metadataOnly = config.watch.nodeMetadataOnly;
  return new ResilientInformer<NodeView>({
    ...common(kc, clock, config),
    ...handlers,
    resource: 'nodes',
    path: '/api/v1/nodes',
    // nodeViewOf reads metadata only, so a PartialObjectMetadata passes for a V1Node.
    list: (page) =>
      metadataOnly
        ? core.listNode(page, setHeaderOptions('Accept', METADATA_LIST))
        : core.listNode(page),
    watchAccept: metadataOnly ? METADATA_WATCH : undefined,
    slim: (raw) => nodeViewOf(raw as V1Node, config.optIn.annotation),
    resyncMs: config.watch.resync,
  });
}

/** Our installer Jobs in the operator namespace (least-privilege: one namespace). */
export function jobInformer(
  kc: KubeConfig,
  clock: Clock,
  config: Config,
  handlers: InformerHandlers<JobView>,
): ResilientInformer<JobView> {
  const batch = kc.makeApiClient(BatchV1Api);
  return new ResilientInformer<JobView>({
    ...common(kc, clock, config),
    ...handlers,
    resource: 'jobs',
    path: `/apis/batch/v1/namespaces/${config.namespace}/jobs`,
    list: (page) =>
      batch.listNamespacedJob({
        namespace: config.namespace,
        labelSelector: JOB_SELECTOR,
        ...page,
      }),
    labelSelector: JOB_SELECTOR,
    slim: (raw) => jobViewOf(raw as V1Job),
    resyncMs: 0,
  });
}
