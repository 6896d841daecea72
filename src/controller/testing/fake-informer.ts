import type { Informer, InformerHandlers } from '../informer.ts';

interface Named {
  metadata: { name: string; namespace?: string };
}

/**
 * An in-memory Informer for unit tests: the test (or a fake API) delivers what a watch
 * would, and the handlers fire as they would. start() delivers the current objects as the
 * initial list and syncs; `holdSync` keeps a test's informer unsynced to show readiness.
 */
export class FakeInformer<T extends Named> implements Informer<T> {
  readonly #objects = new Map<string, T>();
  readonly #handlers: InformerHandlers<T>;
  #started = false;
  #synced = false;
  holdSync = false;

  constructor(handlers: InformerHandlers<T>) {
    this.#handlers = handlers;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get started(): boolean {
    return this.#started;
  }

  list(): readonly T[] {
    return [...this.#objects.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(`${namespace ?? ''}/${name}`);
  }

  start(): void {
    this.#started = true;
    this.#handlers.onLifecycle?.('connected');
    for (const obj of this.#objects.values()) this.#handlers.onAdd?.(obj);
    if (!this.holdSync) this.sync();
  }

  /** Completes the initial list. */
  sync(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#handlers.onLifecycle?.('synced');
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.#handlers.onLifecycle?.('stopped');
  }

  /** What a watch event does: store, then call the handler (only while started). */
  upsert(obj: T): void {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const old = this.#objects.get(key);
    this.#objects.set(key, obj);
    if (!this.#started) return;
    if (old) this.#handlers.onUpdate?.(obj, old);
    else this.#handlers.onAdd?.(obj);
  }

  remove(obj: T): void {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    if (!this.#objects.delete(key) || !this.#started) return;
    this.#handlers.onDelete?.(obj);
  }

  resync(): void {
    this.#handlers.onResync?.();
  }
}
