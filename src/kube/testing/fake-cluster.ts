import type { V1Job, V1Pod, V1RuntimeClass } from '@kubernetes/client-node';
import { ReconcileError } from '../../controller/errors.ts';
import { FakeInformer } from '../../controller/testing/fake-informer.ts';
import { MemoryLeases } from '../../controller/testing/memory-leases.ts';
import type { EventSpec, InformerFactory, KubePort, MetadataPatch } from '../kube-port.ts';
import { matchesSelector, parseLabelSelector, type Requirement } from '../label-selector.ts';
import { installerPod } from './pods.ts';
import {
  jobViewOf,
  type AnnotationFilter,
  type JobView,
  type NodeStatusView,
  type NodeView,
} from '../views.ts';

type Method = Exclude<keyof KubePort, 'getLease' | 'createLease' | 'replaceLease'>;

function applyPatch(into: Record<string, string>, patch: Record<string, string | null> = {}) {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete into[key];
    else into[key] = value;
  }
}

/**
 * An in-memory API and watch for unit tests of the manager and reconciler: writes through a
 * port change the store, and the informers it made see them in the next microtask, as a watch
 * would (later than the write). The test plays kubelet and Job controller with finishJob.
 */
export class FakeCluster implements InformerFactory {
  readonly leases = new MemoryLeases();
  readonly events: EventSpec[] = [];
  readonly runtimeClasses = new Map<string, V1RuntimeClass>();
  readonly jobObjects = new Map<string, V1Job>();
  readonly pods: V1Pod[] = [];
  /** Every port call, as `method name`. */
  readonly calls: string[] = [];
  readonly #nodes = new Map<string, NodeView>();
  readonly #failures = new Map<Method, ReconcileError>();
  readonly #nodeInformers: FakeInformer<NodeView>[] = [];
  readonly #statuses = new Map<string, NodeStatusView['status']>();
  readonly #statusInformers: { informer: FakeInformer<NodeStatusView>; selector: Requirement[] }[] =
    [];
  readonly #jobInformers: FakeInformer<JobView>[] = [];
  readonly #keep: AnnotationFilter;
  #version = 0;

  constructor(keepAnnotation: AnnotationFilter) {
    this.#keep = keepAnnotation;
  }

  node(name: string): NodeView | undefined {
    return this.#nodes.get(name);
  }

  /** Creates or changes a Node as its owner (the user, the kubelet) would. */
  setNode(
    name: string,
    meta: {
      labels?: Record<string, string | null>;
      annotations?: Record<string, string | null>;
    } = {},
  ): void {
    const old = this.#nodes.get(name);
    const labels = { ...old?.metadata.labels };
    const annotations = { ...old?.metadata.annotations };
    applyPatch(labels, meta.labels);
    applyPatch(annotations, meta.annotations);
    const node: NodeView = {
      metadata: {
        name,
        uid: old?.metadata.uid ?? `uid-${name}`,
        resourceVersion: String(++this.#version),
        labels,
        annotations,
      },
    };
    this.#nodes.set(name, node);
    this.#deliver(() => this.#nodeInformers.forEach((i) => i.upsert(structuredClone(node))));
    this.#deliverStatus(name);
  }

  /** Changes a Node's status as its kubelet would: Ready, and the boot id after a reboot. */
  setNodeStatus(name: string, status: NodeStatusView['status']): void {
    this.#statuses.set(name, { ...this.#statuses.get(name), ...status });
    this.#version++;
    this.#deliverStatus(name);
  }

  /** The status informers hold the node while their selector matches its labels. */
  #deliverStatus(name: string): void {
    const node = this.#nodes.get(name);
    const view: NodeStatusView | undefined = node && {
      metadata: { name, uid: node.metadata.uid, resourceVersion: String(this.#version) },
      status: { ...this.#statuses.get(name) },
    };
    this.#deliver(() => {
      for (const { informer, selector } of this.#statusInformers) {
        if (view && matchesSelector(selector, node!.metadata.labels)) informer.upsert(view);
        else if (informer.get(name)) informer.remove(informer.get(name)!);
      }
    });
  }

  deleteNode(name: string): void {
    const node = this.#nodes.get(name);
    if (!node) return;
    this.#nodes.delete(name);
    this.#deliver(() => this.#nodeInformers.forEach((i) => i.remove(structuredClone(node))));
    this.#deliverStatus(name);
  }

  /** The next call of `method` fails with `error`. */
  failNext(method: Method, error: ReconcileError): void {
    this.#failures.set(method, error);
  }

  /** Finishes a Job as the kubelet and Job controller would, with the installer's message. */
  finishJob(name: string, result: { succeeded: boolean; message: string }): void {
    const job = this.jobObjects.get(name);
    if (!job) throw new Error(`no job ${name}`);
    const at = new Date(Date.parse('2026-11-25T12:00:00Z') + ++this.#version * 1000);
    const owner = { apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata?.uid ?? '' };
    const exitCode = result.succeeded ? 0 : 1;
    this.pods.push(
      installerPod(
        `${name}-pod`,
        at,
        { exitCode, message: result.message },
        { ...owner, controller: true },
      ),
    );
    const condition = {
      type: result.succeeded ? 'Complete' : 'Failed',
      status: 'True',
      lastTransitionTime: at,
    };
    this.#storeJob({
      ...job,
      status: {
        startTime: at,
        ...(result.succeeded ? { completionTime: at } : {}),
        conditions: [condition],
      },
    });
  }

  /** A KubePort bound to one replica (Lease calls as `identity`). */
  port(identity = 'test'): KubePort {
    return { ...this.#port(), ...this.leases.forIdentity(identity) };
  }

  nodes(handlers: ConstructorParameters<typeof FakeInformer<NodeView>>[0]): FakeInformer<NodeView> {
    const informer = new FakeInformer<NodeView>(handlers);
    for (const node of this.#nodes.values()) informer.upsert(structuredClone(node));
    this.#nodeInformers.push(informer);
    return informer;
  }

  nodeStatuses(
    handlers: ConstructorParameters<typeof FakeInformer<NodeStatusView>>[0],
    opts: { labelSelector: string },
  ): FakeInformer<NodeStatusView> {
    const informer = new FakeInformer<NodeStatusView>(handlers);
    this.#statusInformers.push({ informer, selector: parseLabelSelector(opts.labelSelector) });
    for (const name of this.#nodes.keys()) this.#deliverStatus(name);
    return informer;
  }

  jobs(handlers: ConstructorParameters<typeof FakeInformer<JobView>>[0]): FakeInformer<JobView> {
    const informer = new FakeInformer<JobView>(handlers);
    for (const job of this.jobObjects.values()) informer.upsert(jobViewOf(job, this.#keep));
    this.#jobInformers.push(informer);
    return informer;
  }

  #deliver(fn: () => void): void {
    queueMicrotask(fn);
  }

  #storeJob(job: V1Job): void {
    const stored = {
      ...job,
      metadata: { ...job.metadata, resourceVersion: String(++this.#version) },
    };
    this.jobObjects.set(stored.metadata.name ?? '', stored);
    this.#deliver(() => this.#jobInformers.forEach((i) => i.upsert(jobViewOf(stored, this.#keep))));
  }

  #call(method: Method, what: string): void {
    this.calls.push(`${method} ${what}`);
    const failure = this.#failures.get(method);
    if (!failure) return;
    this.#failures.delete(method);
    throw failure;
  }

  #port(): Omit<KubePort, 'getLease' | 'createLease' | 'replaceLease'> {
    return {
      patchNodeMetadata: async (name: string, patch: MetadataPatch) => {
        this.#call('patchNodeMetadata', name);
        if (!this.#nodes.has(name))
          throw new ReconcileError('NotFound', `node ${name} not found`, { status: 404 });
        this.setNode(name, patch);
      },
      createJob: async (job: V1Job) => {
        const name = job.metadata?.name ?? '';
        this.#call('createJob', name);
        if (this.jobObjects.has(name)) return false;
        this.#storeJob({ ...job, metadata: { ...job.metadata, uid: `uid-${name}` }, status: {} });
        return true;
      },
      deleteJob: async (_namespace: string, name: string) => {
        this.#call('deleteJob', name);
        const job = this.jobObjects.get(name);
        if (!job) return;
        this.jobObjects.delete(name);
        this.#deliver(() =>
          this.#jobInformers.forEach((i) => i.remove(jobViewOf(job, this.#keep))),
        );
      },
      listJobPods: async (_namespace: string, job: { uid: string }) => {
        this.#call('listJobPods', job.uid);
        return this.pods.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === job.uid));
      },
      listPodsOnNode: async (nodeName: string) => {
        this.#call('listPodsOnNode', nodeName);
        return this.pods.filter((p) => p.spec?.nodeName === nodeName);
      },
      createEvent: async (event: EventSpec) => {
        this.#call('createEvent', event.reason);
        this.events.push(event);
      },
      applyRuntimeClass: async (rc: V1RuntimeClass) => {
        this.#call('applyRuntimeClass', rc.metadata?.name ?? '');
        this.runtimeClasses.set(rc.metadata?.name ?? '', structuredClone(rc));
      },
      listRuntimeClasses: async (selector: string) => {
        this.#call('listRuntimeClasses', selector);
        const [key = '', value] = selector.split('=');
        return [...this.runtimeClasses.values()].filter(
          (rc) => key === '' || rc.metadata?.labels?.[key] === value,
        );
      },
      deleteRuntimeClass: async (name: string) => {
        this.#call('deleteRuntimeClass', name);
        this.runtimeClasses.delete(name);
      },
    };
  }
}
