import type { NodeView } from '../../kube/views.ts';
import {
  ANNOTATIONS,
  LABELS,
  READY,
  RUNTIME_LABEL_PREFIX,
  STEERING_LABEL_PREFIX,
  runtimeLabel,
  steeringLabel,
  type Operation,
} from '../keys.ts';

/** The failure annotation: enough to schedule the retry and to know it was recorded. */
export interface FailureRecord {
  op: Operation;
  hash: string;
  /** Failed runs in a row for this op and hash. */
  attempts: number;
  /** When the failed run finished (epoch ms). */
  at: number;
  /** The Job whose failure this is; it is kept (logs!) until the retry replaces it. */
  job: string;
  /** The installer refused the node as it is (unsupported): not a failure of the rollout. */
  refused?: boolean;
}

export function readFailure(node: NodeView): FailureRecord | undefined {
  const raw = node.metadata.annotations[ANNOTATIONS.failure];
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<FailureRecord>;
    if (
      (value.op === 'install' || value.op === 'uninstall') &&
      typeof value.hash === 'string' &&
      typeof value.attempts === 'number' &&
      typeof value.at === 'number' &&
      typeof value.job === 'string' &&
      (value.refused === undefined || typeof value.refused === 'boolean')
    ) {
      return value as FailureRecord;
    }
  } catch {
    // A hand-edited annotation: treated as absent, the next outcome overwrites it.
  }
  return undefined;
}

export function formatFailure(record: FailureRecord): string {
  return JSON.stringify(record);
}

const runtimesUnder = (node: NodeView, prefix: string) =>
  Object.keys(node.metadata.labels)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));

/** Runtime names the node carries a runtime label for, readable or steering. */
export function labelledRuntimes(node: NodeView): string[] {
  const names = [
    ...runtimesUnder(node, RUNTIME_LABEL_PREFIX),
    ...runtimesUnder(node, STEERING_LABEL_PREFIX),
  ];
  return [...new Set(names)];
}

/**
 * Runtimes the node is labelled ready for the way releases before the steering labels did
 * (readable label only): it is re-verified before it steers workloads. A kubelet that sets
 * the readable label itself gets the same: a re-verification, nothing more.
 */
export function unsteeredRuntimes(node: NodeView): string[] {
  const { labels } = node.metadata;
  return runtimesUnder(node, RUNTIME_LABEL_PREFIX).filter(
    (r) => labels[runtimeLabel(r)] === READY && labels[steeringLabel(r)] !== READY,
  );
}

/** The label patch that marks exactly `verified` as ready, both readable and steering. */
export function runtimeLabelsPatch(
  node: NodeView,
  verified: readonly string[],
): Record<string, string | null> {
  const labels: Record<string, string | null> = {};
  for (const runtime of labelledRuntimes(node)) {
    labels[runtimeLabel(runtime)] = null;
    labels[steeringLabel(runtime)] = null;
  }
  for (const runtime of verified) {
    labels[runtimeLabel(runtime)] = READY;
    labels[steeringLabel(runtime)] = READY;
  }
  return labels;
}

const OWN_ANNOTATIONS = [
  ANNOTATIONS.installedHash,
  ANNOTATIONS.verifiedAt,
  ANNOTATIONS.verifiedBy,
  ANNOTATIONS.bootId,
  ANNOTATIONS.failure,
  ANNOTATIONS.message,
];

/** Anything we wrote on the node, i.e. whether an opt-out has something to undo. */
export function hasMarkers(node: NodeView): boolean {
  const { labels, annotations } = node.metadata;
  return (
    labels[LABELS.status] !== undefined ||
    labels[LABELS.provisioned] !== undefined ||
    labelledRuntimes(node).length > 0 ||
    OWN_ANNOTATIONS.some((k) => annotations[k] !== undefined)
  );
}

/** The merge patch that removes every marker (retry and narrowing are the user's: kept). */
export function clearMarkersPatch(node: NodeView): {
  labels: Record<string, null>;
  annotations: Record<string, null>;
} {
  const labels = {
    [LABELS.status]: null,
    [LABELS.provisioned]: null,
    ...(runtimeLabelsPatch(node, []) as Record<string, null>),
  };
  return { labels, annotations: Object.fromEntries(OWN_ANNOTATIONS.map((k) => [k, null])) };
}
