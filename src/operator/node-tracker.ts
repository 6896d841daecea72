import type { NodeView } from '../kube/views.ts';
import type { Config } from './config.ts';
import { desiredHash } from './desired-state.ts';
import { readFailure } from './node-records.ts';
import { evaluateIntent, type OptInPolicy } from './opt-in.ts';

/**
 * Cluster-wide counts the rollout gate needs, kept up to date from node events so a gate
 * check is O(1) at thousands of nodes: opted-in nodes (percentage base) and nodes whose
 * install failed for their current desired state (failure budget).
 */
export class NodeTracker {
  readonly optedIn = new Set<string>();
  readonly failed = new Set<string>();
  readonly #config: Config;
  readonly #policy: OptInPolicy;

  constructor(config: Config, policy: OptInPolicy) {
    this.#config = config;
    this.#policy = policy;
  }

  observe(node: NodeView): void {
    const name = node.metadata.name;
    const intent = evaluateIntent(node, this.#policy);
    if (intent.kind === 'in') this.optedIn.add(name);
    else this.optedIn.delete(name);
    const failure = readFailure(node);
    // A config change gives a new desired hash, so failures of the old state stop counting:
    // that is how a config change resumes a paused rollout.
    const counts =
      intent.kind === 'in' &&
      failure?.op === 'install' &&
      failure.hash === desiredHash(intent.runtimes, this.#config.installer);
    if (counts) this.failed.add(name);
    else this.failed.delete(name);
  }

  forget(name: string): void {
    this.optedIn.delete(name);
    this.failed.delete(name);
  }
}
