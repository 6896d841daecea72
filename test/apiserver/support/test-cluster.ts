import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  NodeV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Job,
  type V1Lease,
  type V1Node,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.ts';
import { waitFor } from '../../support/wait.ts';

import { TEST_NAMESPACE } from '../../../src/operator/testing/test-config.ts';

export const NAMESPACE = TEST_NAMESPACE;

/** A control plane plus typed clients and the small queries the operator tests assert on. */
export interface TestCluster {
  cp: ControlPlane;
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  nodeApi: NodeV1Api;
  stop(): Promise<void>;
}

export async function startCluster(
  opts: { controllerManager?: boolean } = {},
): Promise<TestCluster> {
  const cp = await startControlPlane(opts);
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  if (!opts.controllerManager) {
    // The ServiceAccount admission plugin wants one even with automount off; kcm would make it.
    await core.createNamespacedServiceAccount({
      namespace: NAMESPACE,
      body: { metadata: { name: 'default' } },
    });
  }
  return {
    cp,
    kc,
    core,
    batch: kc.makeApiClient(BatchV1Api),
    nodeApi: kc.makeApiClient(NodeV1Api),
    stop: () => cp.stop(),
  };
}

export async function createNode(
  c: TestCluster,
  name: string,
  meta: { annotations?: Record<string, string>; labels?: Record<string, string> } = {},
): Promise<V1Node> {
  return c.core.createNode({ body: { metadata: { name, ...meta } } });
}

export function readNode(c: TestCluster, name: string): Promise<V1Node> {
  return c.core.readNode({ name });
}

export async function annotateNode(
  c: TestCluster,
  name: string,
  annotations: Record<string, string | null>,
): Promise<void> {
  await c.core.patchNode(
    { name, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function jobs(c: TestCluster): Promise<V1Job[]> {
  return (await c.batch.listNamespacedJob({ namespace: NAMESPACE })).items;
}

export function jobsForNode(all: V1Job[], node: string): V1Job[] {
  return all.filter((j) => j.metadata?.annotations?.['wasm-node.dev/node'] === node);
}

export function isFinished(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  );
}

export async function nodeEvents(c: TestCluster, node: string): Promise<CoreV1Event[]> {
  const list = await c.core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.kind=Node,involvedObject.name=${node}`,
  });
  return list.items;
}

/** Polls until a Job for the node exists that is not finished, and returns it. */
export function waitForActiveJob(c: TestCluster, node: string, timeoutMs = 30_000): Promise<V1Job> {
  return waitFor(
    `an active installer job for ${node.slice(0, 40)}`,
    async () => jobsForNode(await jobs(c), node).find((j) => !isFinished(j)),
    { timeoutMs },
  );
}

export function waitForNode(
  c: TestCluster,
  name: string,
  what: string,
  check: (node: V1Node) => boolean,
  timeoutMs = 30_000,
): Promise<V1Node> {
  return waitFor(
    `${name.slice(0, 40)}: ${what}`,
    async () => {
      const node = await readNode(c, name);
      return check(node) ? node : undefined;
    },
    { timeoutMs },
  );
}

export function waitForEvent(
  c: TestCluster,
  node: string,
  reason: string,
  timeoutMs = 30_000,
): Promise<CoreV1Event> {
  return waitFor(
    `event ${reason} on ${node.slice(0, 40)}`,
    async () => (await nodeEvents(c, node)).find((e) => e.reason === reason),
    { timeoutMs },
  );
}

/**
 * Removes every Node, installer Job and RuntimeClass, so tests sharing one control plane stay
 * independent.
 */
export async function resetCluster(c: TestCluster): Promise<void> {
  await c.core.deleteCollectionNode({});
  await c.nodeApi.deleteCollectionRuntimeClass({});
  await c.batch.deleteCollectionNamespacedJob({
    namespace: NAMESPACE,
    propagationPolicy: 'Background',
  });
  await c.core.deleteCollectionNamespacedPod({ namespace: NAMESPACE });
  await waitFor(
    'nodes and jobs to be gone',
    async () => (await c.core.listNode()).items.length === 0 && (await jobs(c)).length === 0,
    { timeoutMs: 20_000 },
  );
}

/** Polls for an Event with this reason on any Node. */
export function waitForEventAnywhere(
  c: TestCluster,
  reason: string,
  timeoutMs = 30_000,
): Promise<CoreV1Event> {
  return waitFor(
    `event ${reason}`,
    async () =>
      (
        await c.core.listNamespacedEvent({
          namespace: 'default',
          fieldSelector: `involvedObject.kind=Node,reason=${reason}`,
        })
      ).items[0],
    { timeoutMs },
  );
}

export function readLease(c: TestCluster, name = 'wasm-node-operator'): Promise<V1Lease> {
  return c.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: NAMESPACE, name });
}

/** Who holds the operator's Lease; undefined when nobody does (released) or there is none. */
export async function leaseHolder(c: TestCluster): Promise<string | undefined> {
  try {
    return (await readLease(c)).spec?.holderIdentity ?? undefined;
  } catch {
    return undefined;
  }
}
