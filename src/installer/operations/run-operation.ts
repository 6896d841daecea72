import { INSTALL_REPORT_SCHEMA, type InstallReport } from '../../formats/install-report.ts';
import { errorKind, InstallError, reportedCode } from '../errors.ts';
import { gatherFacts } from '../facts/node-facts.ts';
import type { HostDeps } from '../host/deps.ts';
import { acquireHostLock } from '../host/lock.ts';
import { planOperation } from '../plan/install-plan.ts';
import type { OperationRequest } from '../request.ts';
import { execute } from './execute.ts';
import { runtimeReports } from './report.ts';

type Outcome = Omit<InstallReport, 'schema' | 'operation' | 'ok' | 'durationMs' | 'bootId'>;

/** Read → plan → act for one request. */
async function operate(req: OperationRequest, deps: HostDeps): Promise<Outcome> {
  const facts = await gatherFacts(req, deps);
  const plan = planOperation(req, facts);
  deps.log.info({ step: plan.step, written: plan.change?.patch.written }, 'planned');
  const applied = await execute(plan, facts, req, deps);
  return {
    flavour: plan.flavour.flavour,
    configPath: plan.flavour.target.path,
    changed: applied.changed,
    restarted: applied.restarted,
    rolledBack: false,
    runtimes: runtimeReports(plan, applied.status),
  };
}

function failed(err: unknown): Outcome {
  const code = reportedCode(err);
  return {
    runtimes: [],
    changed: false,
    restarted: err instanceof InstallError && err.restarted,
    rolledBack: err instanceof InstallError && err.rolledBack,
    error: { code, message: (err as Error).message, kind: errorKind(code) },
  };
}

/** Runs one operation under the node lock and always returns a report, failures included. */
export async function runOperation(req: OperationRequest, deps: HostDeps): Promise<InstallReport> {
  const start = deps.now();
  let release: (() => Promise<void>) | undefined;
  let outcome: Outcome;
  try {
    release = await acquireHostLock(deps.fs, {
      timeoutMs: req.lockTimeoutMs,
      sleep: deps.sleep,
      now: deps.now,
      onWait: (owner) => deps.log.info({ owner }, 'waiting for the host lock'),
      signal: deps.signal,
    });
    outcome = await operate(req, deps);
  } catch (err) {
    deps.log.error({ err }, `${req.operation} failed`);
    outcome = failed(err);
  } finally {
    await release?.();
  }
  return {
    schema: INSTALL_REPORT_SCHEMA,
    operation: req.operation,
    ok: outcome.error === undefined,
    ...outcome,
    bootId: await deps.bootId(),
    durationMs: deps.now() - start,
  };
}
