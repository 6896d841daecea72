import type { V1Job, V1Node } from '@kubernetes/client-node';
import {
  ResilientInformer,
  ResourceExpired,
  type InformerTuning,
  type ListChunk,
  type ListerWatcher,
  type WatchEvent,
} from '../controller/informer.ts';
import { METADATA_OBJECT } from './api-port.ts';
import { HttpStatusError, type Transport } from './http2-transport.ts';
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

/** Media type of a metadata-only list (what client-go's metadata informer sends). */
export const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
/**
 * Whole Nodes per list page for the status informers: a kubelet-sized Node is ~10 KB of JSON,
 * and only its Ready condition and boot id are kept.
 */
const STATUS_PAGE_SIZE = 100;
/** A watch the server should have ended is given up this long after its timeoutSeconds. */
const WATCH_GRACE_MS = 60_000;

interface Collection {
  path: string;
  labelSelector?: string;
  metadataOnly?: boolean;
}

const search = (params: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  return q.toString();
};

function expired(event: { type: string; object: { code?: number; message?: string } }) {
  const { code, message = 'watch error' } = event.object;
  return code === 410 ? new ResourceExpired(message) : new Error(`${code ?? ''} ${message}`.trim());
}

/** List pages and watches of one collection over the transport. */
export function listerWatcher(
  transport: Transport,
  c: Collection,
  requestTimeoutMs: number,
): ListerWatcher {
  const accept = (metadata: string) => (c.metadataOnly ? metadata : 'application/json');
  return {
    async list(page) {
      const q = search({
        labelSelector: c.labelSelector,
        limit: page.limit,
        continue: page._continue,
      });
      const res = await transport.request({
        method: 'GET',
        path: `${c.path}?${q}`,
        headers: { accept: accept(METADATA_LIST) },
        timeoutMs: requestTimeoutMs,
      });
      if (res.status === 410) throw new ResourceExpired(res.body.slice(0, 200));
      if (res.status !== 200)
        throw new Error(`list ${c.path}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
      const list = JSON.parse(res.body) as {
        items: unknown[] | null;
        metadata?: { resourceVersion?: string; continue?: string };
      };
      return {
        items: list.items,
        metadata: {
          resourceVersion: list.metadata?.resourceVersion,
          _continue: list.metadata?.continue,
        },
      } satisfies ListChunk;
    },
    async watch(resourceVersion, { timeoutSeconds, signal }, onEvent) {
      const q = search({
        labelSelector: c.labelSelector,
        watch: 1,
        allowWatchBookmarks: 'true',
        timeoutSeconds,
        resourceVersion,
      });
      let failure: Error | undefined;
      const gone = (err: unknown) => {
        throw err instanceof HttpStatusError && err.status === 410
          ? new ResourceExpired(err.message)
          : err;
      };
      await transport
        .stream(
          {
            path: `${c.path}?${q}`,
            headers: { accept: accept(METADATA_OBJECT) },
            idleTimeoutMs: timeoutSeconds * 1000 + WATCH_GRACE_MS,
            signal,
          },
          (line) => {
            if (failure) return;
            const event = JSON.parse(line) as
              WatchEvent | { type: 'ERROR'; object: { code?: number; message?: string } };
            if (event.type === 'ERROR') failure = expired(event);
            else onEvent(event);
          },
        )
        .catch(gone);
      if (failure) throw failure;
    },
  };
}

/** InformerFactory over the transport: paged lists and watches, slimmed to views as they arrive. */
export function apiInformers(
  transport: Transport,
  opts: { tuning: InformerTuning; keepAnnotation: AnnotationFilter; requestTimeoutMs: number },
): InformerFactory {
  const { tuning, keepAnnotation, requestTimeoutMs } = opts;
  return {
    nodes(handlers, { metadataOnly, resyncMs }) {
      return new ResilientInformer<NodeView>({
        ...tuning,
        ...handlers,
        resyncMs,
        resource: 'nodes',
        source: listerWatcher(transport, { path: '/api/v1/nodes', metadataOnly }, requestTimeoutMs),
        // nodeViewOf reads metadata only, so a PartialObjectMetadata passes for a V1Node.
        slim: (raw) => nodeViewOf(raw as V1Node, keepAnnotation),
      });
    },
    nodeStatuses(handlers, { labelSelector }) {
      return new ResilientInformer<NodeStatusView>({
        ...tuning,
        ...handlers,
        resyncMs: 0,
        resource: 'nodes',
        source: listerWatcher(
          transport,
          { path: '/api/v1/nodes', labelSelector },
          requestTimeoutMs,
        ),
        pageSize: STATUS_PAGE_SIZE,
        slim: (raw) => nodeStatusViewOf(raw as V1Node),
      });
    },
    jobs(handlers, { namespace, labelSelector }) {
      return new ResilientInformer<JobView>({
        ...tuning,
        ...handlers,
        resyncMs: 0,
        resource: 'jobs',
        source: listerWatcher(
          transport,
          { path: `/apis/batch/v1/namespaces/${namespace}/jobs`, labelSelector },
          requestTimeoutMs,
        ),
        slim: (raw) => jobViewOf(raw as V1Job, keepAnnotation),
      });
    },
  };
}
