import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Job,
  type V1Node,
} from '@kubernetes/client-node';
import { ResilientInformer, type InformerTuning } from '../controller/informer.ts';
import { callOptions } from './api-errors.ts';
import type { InformerFactory } from './kube-port.ts';
import {
  jobViewOf,
  nodeStatusViewOf,
  nodeViewOf,
  type AnnotationFilter,
  type JobView,
  type NodeStatusView,
  type NodeView,
} from './views.ts';

/**
 * Whole Nodes per list page for the status informers: a kubelet-sized Node is ~10 KB of JSON
 * and more as client-node objects, and only its Ready condition and boot id are kept.
 */
const STATUS_PAGE_SIZE = 100;

/** Media types of a metadata-only list and watch (what client-go's metadata informer sends). */
export const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** InformerFactory over client-node: resilient, paged, slimmed to views as objects arrive. */
export function clientNodeInformers(
  kc: KubeConfig,
  opts: { tuning: InformerTuning; keepAnnotation: AnnotationFilter; requestTimeoutMs: number },
): InformerFactory {
  const { tuning, keepAnnotation, requestTimeoutMs } = opts;
  return {
    nodes(handlers, { metadataOnly, resyncMs }) {
      const core = kc.makeApiClient(CoreV1Api);
      return new ResilientInformer<NodeView>({
        ...tuning,
        ...handlers,
        resyncMs,
        kc,
        resource: 'nodes',
        path: '/api/v1/nodes',
        // nodeViewOf reads metadata only, so a PartialObjectMetadata passes for a V1Node.
        list: (page) =>
          core.listNode(
            page,
            callOptions(requestTimeoutMs, metadataOnly ? { Accept: METADATA_LIST } : {}),
          ),
        watchAccept: metadataOnly ? METADATA_WATCH : undefined,
        slim: (raw) => nodeViewOf(raw as V1Node, keepAnnotation),
      });
    },
    nodeStatuses(handlers, { labelSelector }) {
      const core = kc.makeApiClient(CoreV1Api);
      return new ResilientInformer<NodeStatusView>({
        ...tuning,
        ...handlers,
        resyncMs: 0,
        kc,
        resource: 'nodes',
        path: '/api/v1/nodes',
        list: (page) => core.listNode({ labelSelector, ...page }, callOptions(requestTimeoutMs)),
        labelSelector,
        pageSize: STATUS_PAGE_SIZE,
        slim: (raw) => nodeStatusViewOf(raw as V1Node),
      });
    },
    jobs(handlers, { namespace, labelSelector }) {
      const batch = kc.makeApiClient(BatchV1Api);
      return new ResilientInformer<JobView>({
        ...tuning,
        ...handlers,
        resyncMs: 0,
        kc,
        resource: 'jobs',
        path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
        list: (page) =>
          batch.listNamespacedJob(
            { namespace, labelSelector, ...page },
            callOptions(requestTimeoutMs),
          ),
        labelSelector,
        slim: (raw) => jobViewOf(raw as V1Job, keepAnnotation),
      });
    },
  };
}
