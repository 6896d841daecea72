import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/**
 * Keeps the last state of every object a watch reports, deleted ones included: the operator
 * deletes installer Jobs (and with them their pods) as soon as it has recorded them, and a test
 * still wants to assert on what ran and show it when something fails.
 */
export class ObjectRecorder<T extends KubernetesObject> {
  /** Last seen state by name, in the order the names first appeared. */
  readonly objects = new Map<string, T>();
  readonly deleted = new Set<string>();
  readonly #watcher: Watch;
  readonly #path: string;
  readonly #labelSelector: string;
  readonly #onEvent: ((phase: string, object: T) => void) | undefined;
  #controller: AbortController | undefined;
  #stopped = false;

  private constructor(
    kc: KubeConfig,
    path: string,
    labelSelector: string,
    onEvent?: (phase: string, object: T) => void,
  ) {
    this.#watcher = new Watch(kc);
    this.#path = path;
    this.#labelSelector = labelSelector;
    this.#onEvent = onEvent;
  }

  /** Resolves once the watch is established; `onEvent` sees every event as it comes. */
  static async start<T extends KubernetesObject>(
    kc: KubeConfig,
    path: string,
    labelSelector: string,
    onEvent?: (phase: string, object: T) => void,
  ): Promise<ObjectRecorder<T>> {
    const recorder = new ObjectRecorder<T>(kc, path, labelSelector, onEvent);
    await recorder.#watch();
    return recorder;
  }

  // Without a resourceVersion the watch starts with the current objects; after a dropped
  // connection it starts over, so nothing that still exists is missed.
  async #watch(): Promise<void> {
    this.#controller = await this.#watcher.watch(
      this.#path,
      { labelSelector: this.#labelSelector },
      (phase: string, object: T) => {
        const name = object.metadata?.name;
        if (!name) return;
        this.objects.set(name, object);
        if (phase === 'DELETED') this.deleted.add(name);
        this.#onEvent?.(phase, object);
      },
      () => this.#restart(),
    );
  }

  #restart(): void {
    if (this.#stopped) return;
    // A failed reconnect (apiserver restarting) is retried after a second.
    this.#watch().catch(() => setTimeout(() => this.#restart(), 1000));
  }

  names(): string[] {
    return [...this.objects.keys()];
  }

  stop(): void {
    this.#stopped = true;
    this.#controller?.abort();
  }
}
