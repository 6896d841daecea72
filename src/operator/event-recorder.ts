import type { EventSpec, KubePort } from '../kube/kube-port.ts';
import type { NodeView } from '../kube/views.ts';
import type { Clock } from '../controller/clock.ts';
import type { Logger } from './logger.ts';

/**
 * Posts Events (about Nodes, mostly), dropping repeats of the same (object, reason, message)
 * within the dedupe window: level-triggered reconciles would otherwise post one per resync.
 */
export class EventRecorder {
  readonly #kube: KubePort;
  readonly #clock: Clock;
  readonly #namespace: string;
  readonly #windowMs: number;
  readonly #sent = new Map<string, number>();

  constructor(opts: { kube: KubePort; clock: Clock; namespace: string; windowMs: number }) {
    this.#kube = opts.kube;
    this.#clock = opts.clock;
    this.#namespace = opts.namespace;
    this.#windowMs = opts.windowMs;
  }

  nodeEvent(
    node: NodeView,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    log: Logger,
  ): Promise<void> {
    const { name, uid } = node.metadata;
    return this.event({ apiVersion: 'v1', kind: 'Node', name, uid }, type, reason, message, log);
  }

  async event(
    involved: EventSpec['involved'],
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    log: Logger,
  ): Promise<void> {
    const now = this.#clock.now();
    const key = `${involved.uid}\0${reason}\0${message}`;
    const last = this.#sent.get(key);
    if (last !== undefined && now - last < this.#windowMs) return;
    this.#prune(now);
    // Re-inserted, so the map stays in the order of sending and pruning stops at the first
    // entry still inside the window.
    this.#sent.delete(key);
    this.#sent.set(key, now);
    log[type === 'Warning' ? 'warn' : 'info']({ reason, event: message }, 'event');
    await this.#kube.createEvent({ namespace: this.#namespace, involved, type, reason, message });
  }

  /** Keeps the map bounded by the window, whatever the number of nodes: O(1) per Event. */
  #prune(now: number): void {
    for (const [key, at] of this.#sent) {
      if (now - at < this.#windowMs) return;
      this.#sent.delete(key);
    }
  }
}
