import { errorMessage } from '../../controller/errors.ts';
import type { NodeView } from '../../kube/views.ts';
import type { EventRecorder } from '../event-recorder.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { FleetFacts } from './fleet-facts.ts';
import type { RolloutGate } from './rollout-gate.ts';

export interface PauseReporterDeps {
  gate: RolloutGate;
  fleet: FleetFacts;
  failureBudget: number;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  /** Only the leader posts Events and brings nodes back on resume. */
  isLeader: () => boolean;
  onResume: () => void;
}

/** Pause and resume of the failure budget, reported once each: Event, metric and log. */
export class PauseReporter {
  readonly #d: PauseReporterDeps;
  #wasPaused = false;

  constructor(deps: PauseReporterDeps) {
    this.#d = deps;
  }

  /** Called on every Node change; `trigger` gets the Event when it tipped the budget. */
  check(trigger: NodeView): void {
    const { gate, fleet, failureBudget, log, metrics, events, isLeader } = this.#d;
    const paused = gate.paused;
    if (paused === this.#wasPaused) return;
    this.#wasPaused = paused;
    metrics.rolloutPaused.set(paused ? 1 : 0);
    if (!paused) {
      log.info('rollout resumed');
      if (isLeader()) this.#d.onResume();
      return;
    }
    const failed = [...fleet.failed];
    const message = `rollout paused: ${failed.length} node(s) failed (failureBudget ${failureBudget}): ${failed.slice(0, 10).join(', ')}. No new installs start until the config changes or failed nodes are retried: kubectl annotate nodes -l wasm-node.dev/status=failed wasm-node.dev/retry=now`;
    log.error({ failed: failed.slice(0, 50) }, 'rollout paused: failure budget spent');
    if (!isLeader()) return;
    events
      .nodeEvent(trigger, 'Warning', 'RolloutPaused', message, log)
      .catch((err: unknown) =>
        log.warn({ err: errorMessage(err) }, 'could not post RolloutPaused event'),
      );
  }
}
