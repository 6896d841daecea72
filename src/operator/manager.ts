import { startHttpServer, type HttpServer } from '../controller/http-server.ts';
import { LeaderElector } from '../controller/leader-elector.ts';
import { NodeController, type ControllerDeps } from './node-controller.ts';

export interface ManagerDeps extends Omit<ControllerDeps, 'isLeader'> {
  /** Holder identity in the Lease (the pod name in a cluster). */
  identity: string;
}

/**
 * The manager (controller-runtime's): wiring, leadership and HTTP. The controller's watches
 * run on every replica, so a standby is warm and ready; its workers run only while this
 * replica leads, and only once the caches are complete (a half-listed Job cache would
 * under-count rollout slots).
 */
export class Manager {
  readonly #d: ManagerDeps;
  readonly #controller: NodeController;
  readonly #elector: LeaderElector | undefined;
  #server: HttpServer | undefined;
  #leading = false;
  #wantLead = false;
  #stopping = false;

  constructor(deps: ManagerDeps) {
    this.#d = deps;
    const { config, clock, log } = deps;
    this.#controller = new NodeController({ ...deps, isLeader: () => this.#leading });
    const le = config.leaderElection;
    this.#elector = le.enabled
      ? new LeaderElector({
          leases: deps.kube,
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
    return this.#controller.synced;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The port /healthz, /readyz and /metrics listen on, once started. */
  get port(): number | undefined {
    return this.#server?.port;
  }

  async start(): Promise<void> {
    const { config, metrics } = this.#d;
    this.#server = await startHttpServer({
      host: config.server.host,
      port: config.server.port,
      registry: metrics.registry,
      ready: () => this.ready,
    });
    this.#controller.startWatches();
    if (this.#elector) this.#elector.start();
    else void this.#startLeading();
  }

  /** Drains in-flight work, then releases the lease (no overlap with the next leader). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#stopLeading();
    await this.#elector?.stop();
    await this.#controller.stopWatches();
    await this.#server?.close();
  }

  async #startLeading(): Promise<void> {
    this.#d.metrics.leader.set(1);
    this.#wantLead = true;
    await this.#controller.whenSynced;
    if (!this.#wantLead || this.#leading || this.#stopping) return;
    this.#leading = true;
    this.#controller.startWorkers();
  }

  async #stopLeading(): Promise<void> {
    this.#d.metrics.leader.set(0);
    this.#wantLead = false;
    if (!this.#leading) return;
    this.#leading = false;
    await this.#controller.stopWorkers();
  }
}
