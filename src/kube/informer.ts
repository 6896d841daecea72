import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { backoffDelay, type BackoffPolicy } from '../operator/backoff.ts';
import type { Clock, Timer } from '../operator/clock.ts';
import { errorMessage } from '../operator/errors.ts';

/**
 * The same cluster and credentials with an Accept header on every request: client-node's Watch
 * takes its headers only from KubeConfig.applySecurityAuthentication.
 */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  const view = Object.create(kc) as KubeConfig;
  view.applySecurityAuthentication = async (context) => {
    await kc.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', accept);
  };
  return view;
}

export interface ListPage {
  limit: number;
  _continue?: string;
}

export interface ListChunk {
  // An empty PartialObjectMetadataList comes back with `items: null`.
  items: unknown[] | null;
  metadata?: { resourceVersion?: string; _continue?: string };
}

/**
 * Objects per list request. A single list of thousands of Nodes (10 KB of JSON each, more as
 * client-node objects) is held whole in memory before it is slimmed; pages bound that to one
 * page, and the apiserver serves all pages from one snapshot.
 */
export const LIST_PAGE_SIZE = 500;

/** Every page of a list, each slimmed as it arrives; the snapshot's resourceVersion. */
export async function listAllPages<T>(
  list: (page: ListPage) => Promise<ListChunk>,
  slim: (raw: unknown) => T,
  limit = LIST_PAGE_SIZE,
): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  do {
    const chunk = await list({ limit, ...(next ? { _continue: next } : {}) });
    for (const raw of chunk.items ?? []) items.push(slim(raw));
    resourceVersion = chunk.metadata?.resourceVersion;
    next = chunk.metadata?._continue || undefined;
  } while (next);
  return { items, metadata: { resourceVersion } };
}

export type Lifecycle = 'connected' | 'synced' | 'error' | 'restarting' | 'stopped';

export interface InformerOptions<T extends KubernetesObject> {
  /** Short resource name for logs and metric labels ("nodes", "jobs"). */
  resource: string;
  kc: KubeConfig;
  /** Collection path, e.g. /api/v1/nodes or /apis/batch/v1/namespaces/x/jobs. */
  path: string;
  /**
   * One page of the list (the informer adds no selector to it: pass it here and in
   * labelSelector). The informer pages through the whole list, LIST_PAGE_SIZE at a time.
   */
  list: (page: ListPage) => Promise<ListChunk>;
  labelSelector?: string;
  /** Accept header of the watch, e.g. to receive PartialObjectMetadata (pass the list's in `list`). */
  watchAccept?: string;
  /** Reduces each listed or watched object to what the cache keeps. */
  slim: (raw: unknown) => T;
  clock: Clock;
  restartBackoff: BackoffPolicy;
  /** Server-side watch timeout; ±10 % jitter so replicas do not reconnect together. */
  watchTimeoutMs: number;
  /** Calls onResync this often (0 = never). */
  resyncMs: number;
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T) => void;
  onDelete?: (obj: T) => void;
  onResync?: () => void;
  onLifecycle?: (event: Lifecycle, detail?: string) => void;
}

/**
 * client-node's ListWatch, made to survive: it stops on any non-410 error (apiserver
 * restart, refused connection, failed list), so we restart it with backoff + jitter unless
 * we stopped it ourselves (stop() also fires its error callback, with an AbortError).
 * Objects are slimmed before they enter its cache.
 */
export class ResilientInformer<T extends KubernetesObject> {
  readonly #o: InformerOptions<T>;
  readonly #lw: ListWatch<T>;
  #stopping = false;
  #synced = false;
  #failures = 0;
  #restartTimer: Timer | undefined;
  #resyncTimer: Timer | undefined;

  constructor(options: InformerOptions<T>) {
    this.#o = options;
    const { kc, slim } = options;
    const inner = new Watch(options.watchAccept ? withAccept(kc, options.watchAccept) : kc);
    // Slim watch events before ListWatch stores them. Bookmarks and ERROR Status objects
    // pass through untouched: ListWatch reads their resourceVersion / code.
    const watch = {
      watch: (
        path: string,
        query: Record<string, string | number | boolean | undefined>,
        cb: (phase: string, obj: unknown, raw: unknown) => void,
        done: (err: unknown) => void,
      ) =>
        inner.watch(
          path,
          query,
          (phase, obj, raw) =>
            cb(
              phase,
              phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? slim(obj) : obj,
              raw,
            ),
          done,
        ),
    } as unknown as Watch;
    const list = async () =>
      (await listAllPages(options.list, slim)) as unknown as KubernetesListObject<T>;
    const timeoutSeconds = Math.max(
      1,
      Math.round((options.watchTimeoutMs / 1000) * (0.9 + Math.random() * 0.2)),
    );
    const path = `${options.path}?timeoutSeconds=${timeoutSeconds}&allowWatchBookmarks=true`;
    this.#lw = new ListWatch<T>(path, watch, list, false, options.labelSelector);
    if (options.onAdd) this.#lw.on('add', options.onAdd);
    if (options.onUpdate) this.#lw.on('update', options.onUpdate);
    if (options.onDelete) this.#lw.on('delete', options.onDelete);
    this.#lw.on('connect', () => this.#o.onLifecycle?.('connected'));
    this.#lw.on('error', (err: unknown) => this.#onError(err));
  }

  /** True once the first list succeeded: the cache is complete (readiness). */
  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return this.#lw.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  start(): void {
    this.#stopping = false;
    this.#run();
    if (this.#o.resyncMs > 0) this.#scheduleResync();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const { clock } = this.#o;
    if (this.#restartTimer) clock.clearTimeout(this.#restartTimer);
    if (this.#resyncTimer) clock.clearTimeout(this.#resyncTimer);
    await this.#lw.stop();
    this.#o.onLifecycle?.('stopped');
  }

  #run(): void {
    let failed = false;
    const onError = () => {
      failed = true;
    };
    this.#lw.on('error', onError);
    void this.#lw.start().finally(() => {
      this.#lw.off('error', onError);
      if (failed || this.#stopping) return;
      this.#failures = 0;
      if (!this.#synced) {
        this.#synced = true;
        this.#o.onLifecycle?.('synced');
      }
    });
  }

  #onError(err: unknown): void {
    if (this.#stopping) return;
    this.#failures++;
    this.#o.onLifecycle?.('error', errorMessage(err));
    const delay = backoffDelay({ ...this.#o.restartBackoff, jitter: 0.2 }, this.#failures);
    if (this.#restartTimer) this.#o.clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = this.#o.clock.setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.#o.onLifecycle?.('restarting', `attempt ${this.#failures}`);
      this.#run();
    }, delay);
  }

  #scheduleResync(): void {
    this.#resyncTimer = this.#o.clock.setTimeout(() => {
      if (this.#stopping) return;
      this.#o.onResync?.();
      this.#scheduleResync();
    }, this.#o.resyncMs);
  }
}
