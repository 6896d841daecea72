import { backoffDelay, type BackoffPolicy } from './backoff.ts';
import type { Clock, Timer } from './clock.ts';
import { errorMessage } from './errors.ts';

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
 * Objects per list request. A single list of thousands of Nodes (10 KB of JSON each) is held
 * whole in memory before it is slimmed; pages bound that to one page, and the apiserver serves
 * all pages from one snapshot.
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

/** One event of a watch, as the apiserver sends it (`object` still to be slimmed). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: { metadata?: { resourceVersion?: string } };
}

/** The resourceVersion a watch started from is gone from the apiserver's history (410). */
export class ResourceExpired extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceExpired';
  }
}

/** How an informer reaches the API: list one page, watch from a resourceVersion. */
export interface ListerWatcher {
  list(page: ListPage): Promise<ListChunk>;
  /**
   * Delivers events from `resourceVersion` on until the server ends the watch (resolves),
   * `signal` aborts it, or it fails (rejects; ResourceExpired means: list again).
   */
  watch(
    resourceVersion: string,
    opts: { timeoutSeconds: number; signal: AbortSignal },
    onEvent: (event: WatchEvent) => void,
  ): Promise<void>;
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
  /** `old` is the cached object the update replaced. */
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

interface Cached {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T extends Cached> extends InformerTuning, InformerHandlers<T> {
  /** Short resource name for logs and metric labels ("nodes", "jobs"). */
  resource: string;
  source: ListerWatcher;
  /** Objects per list request (LIST_PAGE_SIZE): smaller for large objects slimmed a lot. */
  pageSize?: number;
  /** Reduces each listed or watched object to what the cache keeps. */
  slim: (raw: unknown) => T;
}

const keyOf = (name = '', namespace?: string) => (namespace ? `${namespace}/${name}` : name);

/**
 * A reflector and its store, as client-go's: list (in pages) once, then watch from the list's
 * resourceVersion for as long as it lasts. A watch the server ends is resumed from the last
 * resourceVersion seen, a failed one after backoff + jitter; only an expired resourceVersion
 * (410) lists again, and that relist reports the differences as adds, updates and deletes.
 * Objects are slimmed before they are cached.
 */
export class ResilientInformer<T extends Cached> implements Informer<T> {
  readonly #o: InformerOptions<T>;
  readonly #store = new Map<string, T>();
  #resourceVersion: string | undefined;
  #stopping = true;
  #synced = false;
  #failures = 0;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #sleepTimer: Timer | undefined;
  #resyncTimer: Timer | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(options: InformerOptions<T>) {
    this.#o = options;
  }

  /** True once the first list succeeded: the cache is complete (readiness). */
  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return [...this.#store.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#store.get(keyOf(name, namespace));
  }

  start(): void {
    if (!this.#stopping) return;
    this.#stopping = false;
    this.#running = this.#run();
    if (this.#o.resyncMs > 0) this.#scheduleResync();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const { clock } = this.#o;
    if (this.#resyncTimer) clock.clearTimeout(this.#resyncTimer);
    if (this.#sleepTimer) clock.clearTimeout(this.#sleepTimer);
    this.#wake?.();
    this.#abort?.abort();
    await this.#running;
    this.#o.onLifecycle?.('stopped');
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        this.#o.onLifecycle?.('connected');
        if (this.#resourceVersion === undefined) await this.#relist();
        await this.#watch(this.#resourceVersion ?? '');
        this.#failures = 0;
      } catch (err) {
        if (this.#stopping) return;
        if (err instanceof ResourceExpired) {
          this.#resourceVersion = undefined;
          continue;
        }
        this.#failures++;
        this.#o.onLifecycle?.('error', errorMessage(err));
        await this.#sleep(backoffDelay({ ...this.#o.restartBackoff, jitter: 0.2 }, this.#failures));
        if (this.#stopping) return;
        this.#o.onLifecycle?.('restarting', `attempt ${this.#failures}`);
      }
    }
  }

  /** Lists everything and makes the store equal to it, telling the handlers what changed. */
  async #relist(): Promise<void> {
    const { items, metadata } = await listAllPages(
      this.#o.source.list,
      this.#o.slim,
      this.#o.pageSize,
    );
    if (this.#stopping) return;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj.metadata.name, obj.metadata.namespace);
      seen.add(key);
      this.#put(key, obj);
    }
    for (const [key, old] of this.#store) {
      if (seen.has(key)) continue;
      this.#store.delete(key);
      this.#o.onDelete?.(old);
    }
    this.#resourceVersion = metadata.resourceVersion ?? '';
    if (!this.#synced) {
      this.#synced = true;
      this.#o.onLifecycle?.('synced');
    }
  }

  #put(key: string, obj: T): void {
    const old = this.#store.get(key);
    if (old?.metadata.resourceVersion === obj.metadata.resourceVersion && old) return;
    this.#store.set(key, obj);
    if (old) this.#o.onUpdate?.(obj, old);
    else this.#o.onAdd?.(obj);
  }

  async #watch(from: string): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const timeoutSeconds = Math.max(
      1,
      Math.round((this.#o.watchTimeoutMs / 1000) * (0.9 + Math.random() * 0.2)),
    );
    await this.#o.source.watch(from, { timeoutSeconds, signal: abort.signal }, (event) => {
      if (this.#stopping) return;
      const rv = event.object.metadata?.resourceVersion;
      if (event.type !== 'BOOKMARK') this.#apply(event.type, this.#o.slim(event.object));
      if (rv) this.#resourceVersion = rv;
    });
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = keyOf(obj.metadata.name, obj.metadata.namespace);
    if (type !== 'DELETED') {
      this.#put(key, obj);
      return;
    }
    const old = this.#store.get(key);
    this.#store.delete(key);
    this.#o.onDelete?.(old ?? obj);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = this.#o.clock.setTimeout(resolve, ms);
    });
  }

  #scheduleResync(): void {
    this.#resyncTimer = this.#o.clock.setTimeout(() => {
      if (this.#stopping) return;
      this.#o.onResync?.();
      this.#scheduleResync();
    }, this.#o.resyncMs);
  }
}
