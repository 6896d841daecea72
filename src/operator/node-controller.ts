import type { Clock } from '../controller/clock.ts';
import { errorMessage, errorReason } from '../controller/errors.ts';
import type { Informer, Lifecycle } from '../controller/informer.ts';
import { WorkQueue, type WorkResult } from '../controller/work-queue.ts';
import type { InformerFactory, KubePort } from '../kube/kube-port.ts';
import { sameNodeView, type JobView, type NodeView } from '../kube/views.ts';
import { JOB_SELECTOR } from './build/installer-job.ts';
import type { Config } from './config.ts';
import { EventRecorder } from './event-recorder.ts';
import { FleetFacts } from './fleet/fleet-facts.ts';
import { JobIndex } from './fleet/job-index.ts';
import { NodeStatusCache } from './fleet/node-status.ts';
import { NodeStates } from './fleet/node-states.ts';
import { PauseReporter } from './fleet/pause-reporter.ts';
import { RolloutGate } from './fleet/rollout-gate.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { optInPolicy } from './plan/opt-in.ts';
import type { Action } from './plan/steps.ts';
import type { ReconcileContext } from './reconcile/context.ts';
import { reconcileNode } from './reconcile/reconcile-node.ts';
import { reconcileRuntimeClasses } from './reconcile/runtime-classes.ts';

const RUNTIME_CLASSES_KEY = 'runtimeclasses';
const NODE_PREFIX = 'node/';
/** Safety net for a node waiting for a slot whose wake-up got lost. */
const SLOT_WAIT_RECHECK_MS = 60_000;

/** The one place that turns a reconcile's Action into what the queue does with the key. */
export function workResultOf(action: Action): WorkResult {
  switch (action.kind) {
    case 'done':
      return {};
    case 'requeueAfter':
      return { requeueAfterMs: action.ms };
    case 'awaitSlot':
      return { requeueAfterMs: SLOT_WAIT_RECHECK_MS };
  }
}

export interface ControllerDeps {
  config: Config;
  kube: KubePort;
  informers: InformerFactory;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Only the leader posts fleet-wide Events. */
  isLeader: () => boolean;
}

/**
 * The node controller (controller-runtime's shape): it watches Nodes (For) and installer Jobs
 * (mapped to their node's key, like EnqueueRequestsFromMapFunc), drops Node updates whose view
 * did not change, and reconciles one key at a time. Watches run on every replica so a standby
 * is warm; the workers run only while leading.
 */
export class NodeController {
  readonly #d: ControllerDeps;
  readonly #nodes: Informer<NodeView>;
  readonly #jobs: Informer<JobView>;
  readonly #statuses: NodeStatusCache;
  readonly #queue: WorkQueue;
  readonly #fleet: FleetFacts;
  readonly #jobIndex = new JobIndex();
  readonly #gate: RolloutGate;
  readonly #pause: PauseReporter;
  readonly #ctx: ReconcileContext;
  #syncedResolve!: () => void;
  /** Both caches hold a complete initial list. */
  readonly whenSynced = new Promise<void>((resolve) => (this.#syncedResolve = resolve));

  constructor(deps: ControllerDeps) {
    this.#d = deps;
    const { config, clock, log, metrics, kube } = deps;
    const policy = optInPolicy(config);
    this.#fleet = new FleetFacts(config, policy);
    this.#gate = new RolloutGate({
      maxConcurrent: config.rollout.maxConcurrentInstalls,
      failureBudget: config.rollout.failureBudget,
      clock,
      counts: () => ({
        optedIn: this.#fleet.optedIn.size,
        failed: this.#fleet.failed.size,
        // Jobs of deleted nodes hold no slot: the index counts nodes the Node cache has.
        running: this.#jobIndex.running,
        controlPlane: this.#fleet.controlPlane,
        ready: (node) => this.#statuses.ready(node),
      }),
    });
    const events = new EventRecorder({
      kube,
      clock,
      namespace: config.events.namespace,
      windowMs: config.events.dedupeWindow,
    });
    this.#ctx = {
      ...{ config, policy, kube, clock, log, metrics, events },
      gate: this.#gate,
      states: new NodeStates(metrics.nodes),
      jobsFor: (node) => this.#jobIndex.jobsFor(node),
      bootIdOf: (node) => this.#statuses.bootId(node),
    };
    this.#pause = new PauseReporter({
      ...{ gate: this.#gate, fleet: this.#fleet, log, metrics, events },
      failureBudget: config.rollout.failureBudget,
      isLeader: deps.isLeader,
      onResume: () => this.#enqueueAll(),
    });
    this.#queue = new WorkQueue({
      concurrency: config.queue.workers,
      backoff: config.queue.backoff,
      clock,
      process: (key) => this.#process(key),
      onError: (key, err, attempt) => {
        metrics.errors.inc({ reason: errorReason(err) });
        log.warn(
          { key, attempt, reason: errorReason(err), err: errorMessage(err) },
          'reconcile failed; backing off',
        );
      },
      onDepth: (depth) => metrics.queueDepth.set(depth),
    });
    [this.#nodes, this.#jobs] = this.#watch();
    this.#statuses = new NodeStatusCache(deps.informers, {
      // A reboot (new boot id) is the node's business; a control-plane node's Ready may free
      // another control-plane node's turn.
      onChange: (node) => {
        this.#queue.add(NODE_PREFIX + node);
        this.#wakeWaiters();
      },
      onLifecycle: (e, detail) => this.#lifecycle('node-status', e, detail),
    });
  }

  /** For(Node) and Watches(Job → its node's key), each with the cache index it feeds. */
  #watch(): [Informer<NodeView>, Informer<JobView>] {
    const { config, informers } = this.#d;
    const nodes = informers.nodes(
      {
        onAdd: (node) => this.#nodeSeen(node, undefined),
        onUpdate: (node, old) => this.#nodeSeen(node, old),
        onDelete: (node) => this.#nodeGone(node),
        onResync: () => this.#enqueueAll(),
        onLifecycle: (e, detail) => this.#lifecycle('nodes', e, detail),
      },
      { metadataOnly: config.watch.nodeMetadataOnly, resyncMs: config.watch.resync },
    );
    const jobs = informers.jobs(
      {
        onAdd: (job) => this.#jobSeen(this.#jobIndex.upsert(job)),
        onUpdate: (job) => this.#jobSeen(this.#jobIndex.upsert(job)),
        onDelete: (job) => this.#jobSeen(this.#jobIndex.remove(job)),
        onLifecycle: (e, detail) => this.#lifecycle('jobs', e, detail),
      },
      { namespace: config.namespace, labelSelector: JOB_SELECTOR },
    );
    return [nodes, jobs];
  }

  get synced(): boolean {
    return this.#nodes.synced && this.#jobs.synced && this.#statuses.synced;
  }

  startWatches(): void {
    this.#nodes.start();
    this.#jobs.start();
    this.#statuses.start();
  }

  async stopWatches(): Promise<void> {
    await Promise.all([this.#nodes.stop(), this.#jobs.stop(), this.#statuses.stop()]);
  }

  /** Leading: drain the queue, starting with every known node. */
  startWorkers(): void {
    // Keys first: added after start, a key already taken would be marked dirty and run twice.
    this.#enqueueAll();
    this.#queue.start();
  }

  /** Resolves when in-flight reconciles are done. */
  stopWorkers(): Promise<void> {
    return this.#queue.stop();
  }

  #lifecycle(resource: string, event: Lifecycle, detail?: string): void {
    const log = this.#d.log.child({ resource });
    if (event === 'error') {
      log.warn({ err: detail }, 'watch error; restarting with backoff');
    } else {
      if (event === 'restarting') this.#d.metrics.watchRestarts.inc({ resource });
      log.info({ detail }, `watch ${event}`);
    }
    if (event === 'synced' && this.synced) this.#syncedResolve();
  }

  #enqueueAll(): void {
    for (const node of this.#nodes.list()) this.#queue.add(NODE_PREFIX + node.metadata.name);
    this.#queue.add(RUNTIME_CLASSES_KEY);
  }

  /** Index the node; enqueue it unless the update changed nothing the operator reads. */
  #nodeSeen(node: NodeView, old: NodeView | undefined): void {
    this.#jobIndex.nodePresent(node.metadata.name, true);
    const emptied = this.#fleet.observe(node);
    this.#pause.check(node);
    if (old && sameNodeView(old, node)) return;
    if (emptied.length > 0) this.#queue.add(RUNTIME_CLASSES_KEY);
    this.#queue.add(NODE_PREFIX + node.metadata.name);
  }

  #nodeGone(node: NodeView): void {
    const name = node.metadata.name;
    this.#jobIndex.nodePresent(name, false);
    if (this.#fleet.forget(name).length > 0) this.#queue.add(RUNTIME_CLASSES_KEY);
    this.#gate.forget(name);
    this.#ctx.states.record(name, undefined);
    this.#pause.check(node);
    this.#queue.forget(NODE_PREFIX + name);
    this.#queue.add(NODE_PREFIX + name);
    this.#wakeWaiters();
  }

  /** A Job changed: its node's key, and nodes waiting for the slot it may have freed. */
  #jobSeen(node: string | undefined): void {
    if (node !== undefined) this.#queue.add(NODE_PREFIX + node);
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    for (const node of this.#gate.takeWaiters()) this.#queue.add(NODE_PREFIX + node);
  }

  async #process(key: string): Promise<WorkResult> {
    const kind = key === RUNTIME_CLASSES_KEY ? 'runtimeclasses' : 'node';
    try {
      const result = await this.#reconcileKey(key);
      this.#d.metrics.reconciles.inc({ kind, result: 'ok' });
      return result;
    } catch (err) {
      this.#d.metrics.reconciles.inc({ kind, result: 'error' });
      throw err;
    }
  }

  async #reconcileKey(key: string): Promise<WorkResult> {
    if (key === RUNTIME_CLASSES_KEY) {
      await reconcileRuntimeClasses({ ...this.#ctx, fleet: this.#fleet });
      return workResultOf({ kind: 'done' });
    }
    const name = key.slice(NODE_PREFIX.length);
    const node = this.#nodes.get(name);
    if (!node) {
      this.#gate.forget(name);
      this.#ctx.states.record(name, undefined);
      return workResultOf({ kind: 'done' });
    }
    const action = await reconcileNode(node, this.#ctx);
    // Deleted while we worked on it: its key is queued again, this keeps the gauge clean now.
    if (!this.#nodes.get(name)) this.#ctx.states.record(name, undefined);
    return workResultOf(action);
  }
}
