import type { NodeView } from '../../kube/views.ts';
import { desiredHash } from '../build/desired-state.ts';
import type { Config } from '../config.ts';
import { CONTROL_PLANE_LABELS } from '../keys.ts';
import { labelledRuntimes, readFailure, unsteeredRuntimes } from '../plan/node-records.ts';
import { evaluateIntent, unsupportedNode, type OptInPolicy } from '../plan/opt-in.ts';
import { countsAgainstBudget } from '../plan/schedule.ts';

/**
 * Cluster-wide facts kept up to date from the Node cache (an index, like an informer's
 * indexer), so questions about all nodes are O(1) at thousands of nodes: opted-in nodes
 * (percentage base), nodes whose failure counts against the budget, and which nodes carry each
 * runtime label (a RuntimeClass of a dropped runtime may go when the last one loses it).
 */
export class FleetFacts {
  readonly optedIn = new Set<string>();
  readonly failed = new Set<string>();
  readonly controlPlane = new Set<string>();
  /** Runtime → nodes labelled for it. */
  readonly #labelled = new Map<string, Set<string>>();
  /** Runtime → nodes labelled ready for it the old way, not yet re-verified (steering label). */
  readonly #unsteered = new Map<string, Set<string>>();
  readonly #config: Config;
  readonly #policy: OptInPolicy;

  constructor(config: Config, policy: OptInPolicy) {
    this.#config = config;
    this.#policy = policy;
  }

  /**
   * Records the node; returns runtimes whose RuntimeClass may change now: no node carries
   * their label any more, or the last node to re-verify has.
   */
  observe(node: NodeView): string[] {
    const name = node.metadata.name;
    const intent = evaluateIntent(node, this.#policy);
    // Windows and Fargate nodes never get a Job: they are no part of a percentage's base.
    if (intent.kind === 'in' && !unsupportedNode(node)) this.optedIn.add(name);
    else this.optedIn.delete(name);
    const counts =
      intent.kind === 'in' &&
      countsAgainstBudget(readFailure(node), desiredHash(intent.runtimes, this.#config.installer));
    if (counts) this.failed.add(name);
    else this.failed.delete(name);
    if (CONTROL_PLANE_LABELS.some((k) => k in node.metadata.labels)) this.controlPlane.add(name);
    else this.controlPlane.delete(name);
    const labelled = index(this.#labelled, name, labelledRuntimes(node));
    return [...new Set([...labelled, ...index(this.#unsteered, name, unsteeredRuntimes(node))])];
  }

  forget(name: string): string[] {
    this.optedIn.delete(name);
    this.failed.delete(name);
    this.controlPlane.delete(name);
    const labelled = index(this.#labelled, name, []);
    return [...new Set([...labelled, ...index(this.#unsteered, name, [])])];
  }

  stillLabelled(runtime: string): boolean {
    return (this.#labelled.get(runtime)?.size ?? 0) > 0;
  }

  /** Some node still carries only the old label for the runtime (an upgrade in progress). */
  migrating(runtime: string): boolean {
    return (this.#unsteered.get(runtime)?.size ?? 0) > 0;
  }
}

/** Puts `name` under exactly `runtimes`; returns the runtimes it left that no node has now. */
function index(byRuntime: Map<string, Set<string>>, name: string, runtimes: string[]): string[] {
  const emptied: string[] = [];
  for (const runtime of runtimes) {
    let nodes = byRuntime.get(runtime);
    if (!nodes) byRuntime.set(runtime, (nodes = new Set()));
    nodes.add(name);
  }
  for (const [runtime, nodes] of byRuntime) {
    if (runtimes.includes(runtime) || !nodes.delete(name)) continue;
    if (nodes.size === 0) {
      byRuntime.delete(runtime);
      emptied.push(runtime);
    }
  }
  return emptied;
}
