import type { KubeConfig } from '@kubernetes/client-node';
import type { Lifecycle, ResilientInformer } from '../kube/informer.ts';
import type { KubePort } from '../kube/kube-port.ts';
import { LeaderElector } from '../kube/leader-elector.ts';
import type { JobView, NodeView } from '../kube/views.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { errorMessage, errorReason } from './errors.ts';
import { EventRecorder } from './event-recorder.ts';
import { jobInformer, nodeInformer } from './informers.ts';
import { JobTracker } from './job-tracker.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { NodeTracker } from './node-tracker.ts';
import { optInPolicy } from './opt-in.ts';
import type { NodeState } from './plan-types.ts';
import { reconcileNode, type NodeContext } from './reconcile-node.ts';
import { RolloutGate } from './rollout-gate.ts';
import { reconcileRuntimeClasses } from './runtime-classes.ts';
import { WorkQueue } from './work-queue.ts';

export interface OperatorDeps {
  config: Config;
  kc: KubeConfig;
  kube: KubePort;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Holder identity in the Lease (the pod name in a cluster). */
  identity: string;
}

const RUNTIME_CLASSES_KEY = 'runtimeclasses';
const NODE_PREFIX = 'node/';
/** Safety net for a node waiting for a slot whose wake-up got lost. */
const SLOT_WAIT_RECHECK_MS = 60_000;

/**
 * The controller: informers (run on every replica, so a standby is warm and ready), a work
 * queue that only the leader drains, and the reconcilers.
 */
export class Operator {
  readonly #d: OperatorDeps;
  readonly #nodes: ResilientInformer<NodeView>;
  readonly #jobs: ResilientInformer<JobView>;
  readonly #queue: WorkQueue;
  readonly #gate: RolloutGate;
  readonly #nodeTracker: NodeTracker;
  readonly #jobTracker = new JobTracker();
  readonly #elector: LeaderElector | undefined;
  readonly #ctx: NodeContext;
  readonly #states = new Map<string, NodeState>();
  #leading = false;
  #wantLead = false;
  #stopping = false;
  #wasPaused = false;
  #syncedResolve!: () => void;
  readonly #synced = new Promise<void>((resolve) => (this.#syncedResolve = resolve));

  constructor(deps: OperatorDeps) {
    this.#d = deps;
    const { config, kc, clock, log, metrics, kube } = deps;
    const policy = optInPolicy(config);
    this.#nodeTracker = new NodeTracker(config, policy);
    this.#gate = new RolloutGate({
      maxConcurrent: config.rollout.maxConcurrentInstalls,
      failureBudget: config.rollout.failureBudget,
      clock,
      counts: () => ({
        optedIn: this.#nodeTracker.optedIn.size,
        failed: this.#nodeTracker.failed.size,
        // Jobs of deleted nodes wait for garbage collection; they hold no slot.
        running: new Set(
          [...this.#jobTracker.running].filter((n) => this.#nodes.get(n) !== undefined),
        ),
      }),
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
    this.#ctx = {
      config,
      policy,
      kube,
      clock,
      log,
      metrics,
      gate: this.#gate,
      events: new EventRecorder({
        kube,
        clock,
        namespace: config.events.namespace,
        windowMs: config.events.dedupeWindow,
      }),
      jobsFor: (node) => this.#jobTracker.jobsFor(node),
    };
    this.#nodes = nodeInformer(kc, clock, config, {
      onAdd: (n) => this.#nodeChanged(n),
      onUpdate: (n) => this.#nodeChanged(n),
      onDelete: (n) => this.#nodeDeleted(n),
      onResync: () => this.#enqueueAll(),
      onLifecycle: (e, detail) => this.#lifecycle('nodes', e, detail),
    });
    this.#jobs = jobInformer(kc, clock, config, {
      onAdd: (j) => this.#jobChanged(j, false),
      onUpdate: (j) => this.#jobChanged(j, false),
      onDelete: (j) => this.#jobChanged(j, true),
      onLifecycle: (e, detail) => this.#lifecycle('jobs', e, detail),
    });
    const le = config.leaderElection;
    this.#elector = le.enabled
      ? new LeaderElector({
          leases: kube,
          clock,
          log,
          identity: deps.identity,
          namespace: config.namespace,
          name: le.leaseName,
          leaseDurationMs: le.leaseDuration,
          renewDeadlineMs: le.renewDeadline,
          retryPeriodMs: le.retryPeriod,
          onStartedLeading: () => void this.#startLeading(),
          onStoppedLeading: () => void this.#stopLeading(),
        })
      : undefined;
  }

  /** Both caches hold a complete initial list (/readyz). */
  get ready(): boolean {
    return this.#nodes.synced && this.#jobs.synced;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#nodes.start();
    this.#jobs.start();
    if (this.#elector) this.#elector.start();
    else void this.#startLeading();
  }

  /** Drains in-flight work, then releases the lease (no overlap with the next leader). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#stopLeading();
    await this.#elector?.stop();
    await Promise.all([this.#nodes.stop(), this.#jobs.stop()]);
  }

  async #startLeading(): Promise<void> {
    this.#d.metrics.leader.set(1);
    this.#wantLead = true;
    // Gate decisions need complete caches: a half-listed Job cache would under-count slots.
    await this.#synced;
    if (!this.#wantLead || this.#leading || this.#stopping) return;
    this.#leading = true;
    this.#queue.start();
    this.#enqueueAll();
  }

  async #stopLeading(): Promise<void> {
    this.#d.metrics.leader.set(0);
    this.#wantLead = false;
    if (!this.#leading) return;
    this.#leading = false;
    await this.#queue.stop();
  }

  #lifecycle(resource: string, event: Lifecycle, detail?: string): void {
    const log = this.#d.log.child({ resource });
    if (event === 'error') {
      log.warn({ err: detail }, 'watch error; restarting with backoff');
    } else {
      if (event === 'restarting') this.#d.metrics.watchRestarts.inc({ resource });
      log.info({ detail }, `watch ${event}`);
    }
    if (event === 'synced' && this.ready) this.#syncedResolve();
  }

  #enqueueAll(): void {
    for (const node of this.#nodes.list()) this.#queue.add(NODE_PREFIX + node.metadata.name);
    this.#queue.add(RUNTIME_CLASSES_KEY);
  }

  #nodeChanged(node: NodeView): void {
    if (this.#nodeTracker.observe(node).length > 0) this.#queue.add(RUNTIME_CLASSES_KEY);
    this.#queue.add(NODE_PREFIX + node.metadata.name);
    this.#checkPause(node);
  }

  #nodeDeleted(node: NodeView): void {
    const name = node.metadata.name;
    if (this.#nodeTracker.forget(name).length > 0) this.#queue.add(RUNTIME_CLASSES_KEY);
    this.#gate.forget(name);
    this.#setState(name, undefined);
    this.#queue.forget(NODE_PREFIX + name);
    this.#queue.add(NODE_PREFIX + name);
    this.#checkPause(node);
    this.#wakeWaiters();
  }

  #jobChanged(job: JobView, deleted: boolean): void {
    const node = deleted ? this.#jobTracker.remove(job) : this.#jobTracker.upsert(job);
    if (node !== undefined) this.#queue.add(NODE_PREFIX + node);
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    for (const node of this.#gate.takeWaiters()) this.#queue.add(NODE_PREFIX + node);
  }

  /** Pause/resume transitions of the failure budget: Event + metric + log, once each. */
  #checkPause(trigger: NodeView): void {
    const paused = this.#gate.paused;
    if (paused === this.#wasPaused) return;
    this.#wasPaused = paused;
    const { log, metrics, config } = this.#d;
    metrics.rolloutPaused.set(paused ? 1 : 0);
    const failed = [...this.#nodeTracker.failed];
    if (!paused) {
      log.info('rollout resumed');
      if (this.#leading) this.#enqueueAll();
      return;
    }
    const message = `rollout paused: ${failed.length} node(s) failed (failureBudget ${config.rollout.failureBudget}): ${failed.slice(0, 10).join(', ')}. No new installs start until the config changes or failed nodes are retried: kubectl annotate nodes -l wasm-node.dev/status=failed wasm-node.dev/retry=now`;
    log.error({ failed: failed.slice(0, 50) }, 'rollout paused: failure budget spent');
    if (this.#leading) {
      void this.#ctx.events
        .nodeEvent(trigger, 'Warning', 'RolloutPaused', message, log)
        .catch((err: unknown) =>
          log.warn({ err: errorMessage(err) }, 'could not post RolloutPaused event'),
        );
    }
  }

  #setState(name: string, state: NodeState | undefined): void {
    const previous = this.#states.get(name);
    if (previous === state) return;
    if (previous) this.#d.metrics.nodes.dec({ state: previous });
    if (state) {
      this.#d.metrics.nodes.inc({ state });
      this.#states.set(name, state);
    } else this.#states.delete(name);
  }

  async #process(key: string): Promise<{ requeueAfterMs?: number }> {
    const { metrics } = this.#d;
    const kind = key === RUNTIME_CLASSES_KEY ? 'runtimeclasses' : 'node';
    try {
      const result = await this.#processKey(key);
      metrics.reconciles.inc({ kind, result: 'ok' });
      return result;
    } catch (err) {
      metrics.reconciles.inc({ kind, result: 'error' });
      throw err;
    }
  }

  async #processKey(key: string): Promise<{ requeueAfterMs?: number }> {
    if (key === RUNTIME_CLASSES_KEY) {
      await reconcileRuntimeClasses({
        ...this.#ctx,
        stillLabelled: (r) => this.#nodeTracker.hasRuntime(r),
      });
      return {};
    }
    const name = key.slice(NODE_PREFIX.length);
    const node = this.#nodes.get(name);
    if (!node) {
      this.#gate.forget(name);
      this.#setState(name, undefined);
      return {};
    }
    const { plan, waitingForSlot } = await reconcileNode(node, this.#ctx);
    // The node may have been deleted while we worked on it (its key is queued again then).
    this.#setState(name, this.#nodes.get(name) ? plan.state : undefined);
    if (waitingForSlot) return { requeueAfterMs: SLOT_WAIT_RECHECK_MS };
    return { requeueAfterMs: plan.requeueAfterMs };
  }
}
