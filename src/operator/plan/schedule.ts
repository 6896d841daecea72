import type { NodeView } from '../../kube/views.ts';
import { backoffDelay } from '../../controller/backoff.ts';
import { nodeHash } from '../build/names.ts';
import type { Config } from '../config.ts';
import { ANNOTATIONS } from '../keys.ts';
import { readFailure, unsteeredRuntimes, type FailureRecord } from './node-records.ts';
import type { NodeState } from './steps.ts';

/** When a node's next run is due, as which attempt, and the state it is in until then. */
export interface Schedule {
  /** Epoch ms; undefined = nothing to run. */
  due: number | undefined;
  attempt: number;
  state: NodeState;
  /** Why the run is due, when it is not the obvious (first install, retry, interval). */
  because?: string;
}

/** The node's last install, for the state it should have now, did not succeed. */
function installFailedFor(
  failure: FailureRecord | undefined,
  hash: string,
): failure is FailureRecord {
  return failure?.op === 'install' && failure.hash === hash;
}

/**
 * The one rule of the failure budget: a node counts while its last install failed for the
 * state it should have now. A config change gives a new desired hash, so failures of the old
 * state stop counting: that is how a config change resumes a paused rollout. A refusal (an
 * unsupported node) never counts.
 */
export function countsAgainstBudget(failure: FailureRecord | undefined, hash: string): boolean {
  return installFailedFor(failure, hash) && !failure.refused;
}

/**
 * Deterministic offset (0-10 % of the interval) so nodes installed together are not
 * re-verified together.
 */
function reverifyStagger(nodeName: string, interval: number): number {
  return Math.floor(
    (parseInt(nodeHash(nodeName).slice(0, 8), 16) / 0x1_0000_0000) * interval * 0.1,
  );
}

/**
 * @param bootId the Node's boot id now (status.nodeInfo.bootID), when the status cache has it
 */
export function installSchedule(
  node: NodeView,
  hash: string,
  config: Config,
  bootId: string | undefined,
): Schedule {
  const failure = readFailure(node);
  const { annotations } = node.metadata;
  if (installFailedFor(failure, hash)) {
    const wait = backoffDelay(config.rollout.retryBackoff, failure.attempts);
    const state = failure.refused ? 'unsupported' : 'failed';
    return { due: failure.at + wait, attempt: failure.attempts, state };
  }
  if (annotations[ANNOTATIONS.installedHash] !== hash)
    return { due: 0, attempt: 0, state: 'pending' };
  // Labelled ready the old way (or by its kubelet): verify before it steers workloads.
  if (unsteeredRuntimes(node).length > 0) return { due: 0, attempt: 0, state: 'ready' };
  // Configs are rewritten at boot (EKS nodeadm, GKE) and re-images keep the Node object: the
  // labels promised "verified on this boot", so they are withdrawn until it is again (planNode).
  const verifiedBoot = annotations[ANNOTATIONS.bootId];
  if (verifiedBoot && bootId && bootId !== verifiedBoot)
    return {
      due: 0,
      attempt: 0,
      state: 'reverifying',
      because: 'the node rebooted since its verification',
    };
  const interval = config.rollout.reverifyInterval;
  const verifiedAt = Date.parse(annotations[ANNOTATIONS.verifiedAt] ?? '');
  if (interval === 0 || Number.isNaN(verifiedAt))
    return { due: undefined, attempt: 0, state: 'ready' };
  return {
    due: verifiedAt + interval + reverifyStagger(node.metadata.name, interval),
    attempt: 0,
    state: 'ready',
  };
}

export function uninstallSchedule(node: NodeView, config: Config): Schedule {
  const failure = readFailure(node);
  if (failure?.op === 'uninstall') {
    const wait = backoffDelay(config.rollout.retryBackoff, failure.attempts);
    return { due: failure.at + wait, attempt: failure.attempts, state: 'failed' };
  }
  return { due: 0, attempt: 0, state: 'uninstalling' };
}
