// What the e2e scenarios read on a node, from inside its machine: containerd's config file, the
// main PID systemd reports for containerd.service, the runtime handlers CRI registers, and the
// restarts systemd logged. Never through the operator or the installer under test.
import { criStatus, registeredHandlers } from '../src/cri/runtime-status.ts';
import { nodeMachine, type ClusterInfo, type ClusterNode } from '../test/support/cluster.ts';
import { restartWindows, type RestartWindow } from '../test/support/containerd-restarts.ts';
import type { Machine } from '../test/support/machines.ts';
import { waitFor } from '../test/support/wait.ts';

export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';

export class NodeProbe {
  readonly node: ClusterNode;
  readonly machine: Machine;

  constructor(cluster: ClusterInfo, node: ClusterNode) {
    this.node = node;
    this.machine = nodeMachine(cluster, node);
  }

  get name(): string {
    return this.node.name;
  }

  /** The config file as it is now; undefined when there is none. */
  async config(): Promise<string | undefined> {
    const r = await this.machine.exec(['cat', CONTAINERD_CONFIG]);
    return r.code === 0 ? r.stdout : undefined;
  }

  /** containerd.service's main PID as systemd reports it (0 while stopped). */
  async mainPid(): Promise<number> {
    return Number((await this.machine.sh('systemctl show -P MainPID containerd')).trim());
  }

  /**
   * Runtime handlers registered through CRI Status, from the host through the machine's root.
   * A containerd that has just restarted serves its socket before CRI is initialised: polled.
   */
  handlers(): Promise<Map<string, string>> {
    return waitFor(
      `containerd's CRI on ${this.name} to answer`,
      async () => {
        const socket = await this.machine.hostPath('/run/containerd/containerd.sock');
        return registeredHandlers(await criStatus(socket, 10_000));
      },
      { timeoutMs: 60_000 },
    );
  }

  /** containerd.service restarts systemd logged on this node since `sinceUs`. */
  async restarts(sinceUs: number): Promise<RestartWindow[]> {
    const entries = await this.machine.journal('containerd.service');
    return restartWindows(this.name, entries).filter((w) => w.fromUs >= sinceUs);
  }
}

export function probes(cluster: ClusterInfo): NodeProbe[] {
  return cluster.nodes.map((node) => new NodeProbe(cluster, node));
}
