import type { NodeView } from '../../kube/views.ts';
import type { Config } from '../config.ts';
import { ANNOTATIONS } from '../keys.ts';
import { matchesSelector, parseLabelSelector } from '../../kube/label-selector.ts';

export interface Warning {
  reason: 'InvalidOptInValue' | 'UnknownRuntime';
  message: string;
}

/**
 * What the node asks for. `invalid` means a value we refuse to guess about: the node keeps
 * its current state (no install, no uninstall) and gets a Warning Event.
 */
export type Intent =
  { kind: 'in'; runtimes: string[] } | { kind: 'out' } | { kind: 'invalid'; warnings: Warning[] };

/**
 * Why the installer cannot run on this node at all, whatever its opt-in (autoProvision opts
 * in every node); undefined when it can.
 */
export function unsupportedNode(node: NodeView): string | undefined {
  const os = node.metadata.labels['kubernetes.io/os'];
  if (os !== undefined && os !== 'linux')
    return `a ${os} node: the installer is a Linux container that changes containerd on the host`;
  if (node.metadata.labels['eks.amazonaws.com/compute-type'] === 'fargate')
    return 'an EKS Fargate node: its pods get no host access, so there is no containerd to change';
  return undefined;
}

/** The node asked for Wasm itself (the annotation), rather than through a selector or autoProvision. */
export function askedExplicitly(node: NodeView, policy: OptInPolicy): boolean {
  return node.metadata.annotations[policy.annotation] === 'true';
}

/** The opt-in rules, with the label selector parsed once. */
export interface OptInPolicy {
  annotation: string;
  selector: ReturnType<typeof parseLabelSelector>;
  autoProvision: boolean;
  runtimes: readonly string[];
}

export function optInPolicy(config: Config): OptInPolicy {
  return {
    annotation: config.optIn.annotation,
    selector: parseLabelSelector(config.optIn.labelSelector),
    autoProvision: config.optIn.autoProvision,
    runtimes: config.runtimes,
  };
}

/**
 * `true`/`false` are the only annotation values: KWasm compares to "true" too, and guessing
 * that `yes` or `TRUE` means opt-in would make a typo restart containerd.
 */
export function evaluateIntent(node: NodeView, policy: OptInPolicy): Intent {
  const { labels, annotations } = node.metadata;
  const value = annotations[policy.annotation];
  if (value !== undefined && value !== 'true' && value !== 'false') {
    return {
      kind: 'invalid',
      warnings: [
        {
          reason: 'InvalidOptInValue',
          message: `annotation ${policy.annotation}="${value}" is not understood; accepted values are "true" (install Wasm runtimes) and "false" (opt out). Nothing was changed.`,
        },
      ],
    };
  }
  const optedIn =
    value === 'true' ||
    (value !== 'false' && (policy.autoProvision || matchesSelector(policy.selector, labels)));
  if (!optedIn) return { kind: 'out' };

  const narrowing = annotations[ANNOTATIONS.runtimes];
  if (narrowing === undefined) return { kind: 'in', runtimes: [...policy.runtimes] };
  const requested = narrowing
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = requested.filter((r) => !policy.runtimes.includes(r));
  if (unknown.length > 0 || requested.length === 0) {
    return {
      kind: 'invalid',
      warnings: [
        {
          reason: 'UnknownRuntime',
          message: `annotation ${ANNOTATIONS.runtimes}="${narrowing}" names ${unknown.length > 0 ? `runtimes this operator does not install (${unknown.join(', ')})` : 'no runtime'}; use a comma-separated subset of: ${policy.runtimes.join(', ')}. Nothing was changed.`,
        },
      ],
    };
  }
  // Config order, so the hash does not depend on how the annotation lists them.
  return { kind: 'in', runtimes: policy.runtimes.filter((r) => requested.includes(r)) };
}
