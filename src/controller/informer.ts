import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { backoffDelay, type BackoffPolicy } from './backoff.ts';
import type { Clock, Timer } from './clock.ts';
import { errorMessage } from './errors.ts';

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

/** A watched cache of one kind of object: what controllers read and subscribe to. */
export interface Informer<T> {
  /** True once the first list succeeded: the cache is complete (readiness). */
  readonly synced: boolean;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  start(): void;
  stop(): Promise<void>;
}

export interface InformerHandlers<T> {
  onAdd?: (obj: T) => void;
  /** `old` is the cached object the update replaced, when the watch delivered it. */
  onUpdate?: (obj: T, old: T | undefined) => void;
  onDelete?: (obj: T) => void;
  /** Called every resyncMs (level-triggered safety net). */
  onResync?: () => void;
  onLifecycle?: (event: Lifecycle, detail?: string) => void;
}

/** How an informer behaves, whatever it watches. */
export interface InformerTuning {
  clock: Clock;
  restartBackoff: BackoffPolicy;
  /** Server-side watch timeout; ±10 % jitter so replicas do not reconnect together. */
  watchTimeoutMs: number;
  /** Calls onResync this often (0 = never). */
  resyncMs: number;
}

export interface InformerOptions<T extends KubernetesObject>
  extends InformerTuning, InformerHandlers<T> {
  /** Short resource name for logs and metric labels ("nodes", "jobs"). */
  resource: string;
  kc: KubeConfig;
  /** Collection path, e.g. /api/v1/nodes or /apis/batch/v1/namespaces/x/jobs. */
  path: string;
  /**
   * One page of the list (the informer adds no selector to it: pass it here and in
   * labelSelector). The informer pages through the whole list, pageSize at a time.
   */
  list: (page: ListPage) => Promise<ListChunk>;
  /** Objects per list request (LIST_PAGE_SIZE): smaller for large objects slimmed a lot. */
  pageSize?: number;
  labelSelector?: string;
  /** Accept header of the watch, e.g. to receive PartialObjectMetadata (pass the list's in `list`). */
  watchAccept?: string;
  /** Reduces each listed or watched object to what the cache keeps. */
  slim: (raw: unknown) => T;
}

/**
 * client-node's ListWatch, made to survive: it stops on any non-410 error (apiserver
 * restart, refused connection, failed list), so we restart it with backoff + jitter unless
 * we stopped it ourselves (stop() also fires its error callback, with an AbortError).
 * Objects are slimmed before they enter its cache.
 */
export class ResilientInformer<T extends KubernetesObject> implements Informer<T> {
  readonly #o: InformerOptions<T>;
  readonly #lw: ListWatch<T>;
  /** The cached object a MODIFIED event is about to replace (ListWatch passes only the new one). */
  #replaced: T | undefined;
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
      ) => inner.watch(path, query, (phase, obj, raw) => this.#deliver(phase, obj, raw, cb), done),
    } as unknown as Watch;
    const list = async () =>
      (await listAllPages(
        options.list,
        slim,
        options.pageSize,
      )) as unknown as KubernetesListObject<T>;
    const timeoutSeconds = Math.max(
      1,
      Math.round((options.watchTimeoutMs / 1000) * (0.9 + Math.random() * 0.2)),
    );
    const path = `${options.path}?timeoutSeconds=${timeoutSeconds}&allowWatchBookmarks=true`;
    this.#lw = new ListWatch<T>(path, watch, list, false, options.labelSelector);
    if (options.onAdd) this.#lw.on('add', options.onAdd);
    const { onUpdate } = options;
    if (onUpdate) this.#lw.on('update', (obj: T) => onUpdate(obj, this.#replaced));
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

  /** ListWatch stores the object synchronously inside cb, so #replaced is exact for its update. */
  #deliver(
    phase: string,
    obj: unknown,
    raw: unknown,
    cb: (phase: string, obj: unknown, raw: unknown) => void,
  ): void {
    if (phase !== 'ADDED' && phase !== 'MODIFIED' && phase !== 'DELETED')
      return cb(phase, obj, raw);
    const slimmed = this.#o.slim(obj);
    const { name = '', namespace } = slimmed.metadata ?? {};
    this.#replaced = phase === 'MODIFIED' ? this.#lw.get(name, namespace) : undefined;
    try {
      cb(phase, slimmed, raw);
    } finally {
      this.#replaced = undefined;
    }
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
