/**
 * Every label and annotation the operator reads or writes, in one place. The opt-in
 * annotation key is configurable (config.optIn.annotation); everything else is fixed so
 * RuntimeClass selectors and user tooling can rely on it.
 */
export const DOMAIN = 'wasm-node.dev';
export const FIELD_MANAGER = 'wasm-node-operator';

export const LABELS = {
  /** `true` after the installer succeeded; generic selector for "any Wasm runtime here". */
  provisioned: `${DOMAIN}/provisioned`,
  /**
   * installing | ready | reverifying | failed | unsupported | uninstalling: select nodes by
   * state.
   */
  status: `${DOMAIN}/status`,
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  operation: `${DOMAIN}/operation`,
  /** Hash of the node name: label values stop at 63 chars, node names at 253. */
  nodeHash: `${DOMAIN}/node-hash`,
  /**
   * On installer pods: their Job's name. Pods are found by it (and their owner's uid), not by
   * the Job controller's labels, which changed in Kubernetes 1.27.
   */
  job: `${DOMAIN}/job`,
} as const;

/** `runtime.wasm-node.dev/<runtime>=ready`: the verified runtimes, for people and tools. */
export function runtimeLabel(runtime: string): string {
  return `${RUNTIME_LABEL_PREFIX}${runtime}`;
}
export const RUNTIME_LABEL_PREFIX = `runtime.${DOMAIN}/`;

/**
 * `runtime.wasm-node.dev.node-restriction.kubernetes.io/<runtime>=ready`: the RuntimeClass
 * nodeSelector. The NodeRestriction admission plugin lets no kubelet set or remove labels
 * under node-restriction.kubernetes.io, so a node cannot make itself a Wasm node; the
 * readable label above it can set, so it steers nothing.
 */
export function steeringLabel(runtime: string): string {
  return `${STEERING_LABEL_PREFIX}${runtime}`;
}
export const STEERING_LABEL_PREFIX = `runtime.${DOMAIN}.node-restriction.kubernetes.io/`;
export const READY = 'ready';

export const ANNOTATIONS = {
  /** Per-node narrowing of the configured runtime set, e.g. `wasmtime,spin`. */
  runtimes: `${DOMAIN}/runtimes`,
  /** Desired-state hash the node was last installed with (written on success only). */
  installedHash: `${DOMAIN}/installed-hash`,
  /** When the installer last verified this node (ISO time); drives re-verification. */
  verifiedAt: `${DOMAIN}/verified-at`,
  /**
   * The uid of the Job that did: how a recorded success is recognised (two runs can finish in
   * the same second), and what names the next re-verification.
   */
  verifiedBy: `${DOMAIN}/verified-by`,
  /**
   * The node's boot id at that verification (the installer reports it): a Node whose
   * status.nodeInfo.bootID differs has rebooted (or been re-imaged) since, and is re-verified.
   */
  bootId: `${DOMAIN}/boot-id`,
  /** Machine-readable record of the last failure (JSON, see FailureRecord). */
  failure: `${DOMAIN}/failure`,
  /** Human-readable last outcome, shown by `kubectl describe node`. */
  message: `${DOMAIN}/message`,
  /** Operator command: any value clears the node's failure and retries it now. */
  retry: `${DOMAIN}/retry`,
  /** On Jobs: the full node name (labels cannot hold 253 chars). */
  node: `${DOMAIN}/node`,
  /** On Jobs: desired-state hash the Job installs. */
  desiredHash: `${DOMAIN}/desired-hash`,
  /** On Jobs: the failure attempt the Job runs as (0 = first try). */
  attempt: `${DOMAIN}/attempt`,
} as const;

export const MANAGED_BY_VALUE = FIELD_MANAGER;

/**
 * Labels of nodes whose containerd restart takes a control-plane component or an etcd member
 * down with it, so they install one at a time: control-plane nodes (kubeadm, k3s and RKE2
 * servers, k0s controllers that run workloads; older releases set `master` too or instead) and
 * the dedicated etcd servers of k3s and RKE2, which carry only `etcd`: two of them restarting
 * together can cost etcd its quorum as surely as two control-plane nodes.
 */
export const CONTROL_PLANE_LABELS = [
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
  'node-role.kubernetes.io/etcd',
];

export const STATUS = {
  installing: 'installing',
  ready: 'ready',
  /** Rebooted since its verification: its ready labels are withdrawn until it is verified again. */
  reverifying: 'reverifying',
  failed: 'failed',
  /** The installer refused the node as it is, or the operator cannot run it there. */
  unsupported: 'unsupported',
  uninstalling: 'uninstalling',
} as const;

export type Operation = 'install' | 'uninstall';

/** The annotations the caches keep of Nodes and Jobs: ours, and the opt-in key. */
export function keepAnnotation(optInAnnotation: string): (key: string) => boolean {
  return (key) => key === optInAnnotation || key.startsWith(`${DOMAIN}/`);
}
