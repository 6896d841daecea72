import type { Metrics } from '../metrics.ts';
import type { NodeState } from '../plan/steps.ts';

/** Each node's last planned state, kept as the nodes-by-state gauge. */
export class NodeStates {
  readonly #gauge: Metrics['nodes'];
  readonly #states = new Map<string, NodeState>();

  constructor(gauge: Metrics['nodes']) {
    this.#gauge = gauge;
  }

  /** Undefined removes the node (deleted). */
  record(name: string, state: NodeState | undefined): void {
    const previous = this.#states.get(name);
    if (previous === state) return;
    if (previous) this.#gauge.dec({ state: previous });
    if (state) {
      this.#gauge.inc({ state });
      this.#states.set(name, state);
    } else this.#states.delete(name);
  }
}
