import type { Informer, Lifecycle } from '../../controller/informer.ts';
import type { InformerFactory } from '../../kube/kube-port.ts';
import { sameNodeStatus, type NodeStatusView } from '../../kube/views.ts';
import { CONTROL_PLANE_LABELS, LABELS } from '../keys.ts';

/**
 * The status of the Nodes the operator needs it for: Ready and boot id. The Node watch is
 * metadata only (whole Nodes cost twice the memory at thousands of nodes, ADR 0007), so whole
 * Nodes are watched only for the nodes the operator manages (its status label: a reboot is
 * noticed by their boot id) and for the control plane (a control-plane install waits for the
 * others to be Ready). docs/benchmarks.md measures what it costs.
 */
export class NodeStatusCache {
  readonly #informers: Informer<NodeStatusView>[];

  /**
   * @param onChange a node's Ready or boot id changed, or it appeared or went.
   */
  constructor(
    informers: InformerFactory,
    handlers: {
      onChange: (node: string) => void;
      onLifecycle: (event: Lifecycle, detail?: string) => void;
    },
  ) {
    const watch = (labelSelector: string) =>
      informers.nodeStatuses(
        {
          onAdd: (view) => handlers.onChange(view.metadata.name),
          onUpdate: (view, old) => {
            if (!old || !sameNodeStatus(old, view)) handlers.onChange(view.metadata.name);
          },
          onDelete: (view) => handlers.onChange(view.metadata.name),
          onLifecycle: handlers.onLifecycle,
        },
        { labelSelector },
      );
    // A label selector cannot say "any of these keys": one informer per label.
    this.#informers = [LABELS.status, ...CONTROL_PLANE_LABELS].map(watch);
  }

  get synced(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  bootId(node: string): string | undefined {
    return this.#get(node)?.status.bootID;
  }

  ready(node: string): boolean | undefined {
    return this.#get(node)?.status.ready;
  }

  #get(node: string): NodeStatusView | undefined {
    for (const informer of this.#informers) {
      const view = informer.get(node);
      if (view) return view;
    }
    return undefined;
  }
}
