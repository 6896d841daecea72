import type { RuntimeStatus } from '../../cri/runtime-status.ts';
import { InstallError } from '../errors.ts';
import type { NodeFacts } from '../facts/node-facts.ts';
import type { HostDeps } from '../host/deps.ts';
import type { HostFs } from '../host/fs.ts';
import type { ConfigChange } from '../plan/config-change.ts';
import { criMismatch, type InstallPlan } from '../plan/install-plan.ts';
import type { EditTarget } from '../plan/node-flavour.ts';
import { restartContainerd, runningPid, waitForContainerd } from './restart.ts';
import { validateCandidate } from './validate.ts';

export const BACKUP_SUFFIX = '.wasm-node.bak';

export interface Applied {
  changed: boolean;
  restarted: boolean;
  /** CRI status once the change is in place (or as it was, when nothing was to do). */
  status: RuntimeStatus | undefined;
}

/** Throws `interrupted` once SIGTERM has come; only called where stopping leaves the node as it was. */
export function stopIfInterrupted(deps: Pick<HostDeps, 'signal'>): void {
  if (deps.signal.aborted)
    throw new InstallError('interrupted', 'stopped by SIGTERM before containerd was restarted');
}

/** The file containerd's config dump must be run beside, so relative imports resolve. */
const effectivePath = (target: EditTarget) =>
  target.kind === 'template' ? target.renderedPath : target.path;

async function writeTarget(fs: HostFs, path: string, text: string | undefined): Promise<void> {
  if (text === undefined) await fs.remove(path);
  else await fs.writeAtomic(path, text);
}

/** Asks containerd whether the change means what it should, then backs up and swaps it in. */
async function swapIn(change: ConfigChange, plan: InstallPlan, facts: NodeFacts, deps: HostDeps) {
  const path = plan.flavour.target.path;
  stopIfInterrupted(deps);
  await validateCandidate(
    {
      inst: facts.containerd,
      version: facts.version as NonNullable<NodeFacts['version']>,
      path: effectivePath(plan.flavour.target),
      before: change.effectiveBefore,
      candidate: change.effective,
      handlers: plan.expected,
      removed: plan.removed,
      owned: plan.owned,
    },
    deps.exec,
    deps.fs,
  );
  if (change.before !== undefined)
    await deps.fs.writeAtomic(`${path}${BACKUP_SUFFIX}`, change.before, { like: path });
  stopIfInterrupted(deps);
  await writeTarget(deps.fs, path, change.after);
  deps.log.info({ path, backup: `${path}${BACKUP_SUFFIX}` }, 'config written');
}

/** Restarts containerd and waits for a process other than `oldPid`, within the plan's timeout. */
async function restartAndWait(
  plan: InstallPlan,
  facts: NodeFacts,
  oldPid: number | undefined,
  deps: HostDeps,
) {
  const deadline = deps.now() + plan.flavour.restartTimeoutMs;
  await restartContainerd(plan.flavour.restart, plan.flavour.restartTimeoutMs, deps);
  const left = Math.max(0, deadline - deps.now());
  return waitForContainerd(facts.containerd.address, oldPid, left, deps);
}

/**
 * Validates, backs up, swaps in, restarts and verifies; on any failure after the swap it puts
 * the old bytes back and restarts again, so the node ends as it began. The executor's part
 * that owns the rollback.
 */
export async function applyChange(
  plan: InstallPlan,
  facts: NodeFacts,
  deps: HostDeps,
): Promise<Applied> {
  const change = plan.change;
  if (plan.step === 'none' || change === undefined)
    return { changed: false, restarted: false, status: facts.cri };
  const swapped = plan.step === 'change';
  if (swapped) await swapIn(change, plan, facts, deps);
  else
    deps.log.info(
      { path: plan.flavour.target.path },
      'config already as wanted but not loaded: restarting',
    );
  try {
    // Once the restart has begun, stopping halfway would leave the node worse than either end.
    if (swapped) stopIfInterrupted(deps);
    const { status } = await restartAndWait(plan, facts, facts.containerd.pid, deps);
    const problem = criMismatch(status, plan.expected, plan.removed);
    if (problem !== undefined)
      throw new InstallError('verification-failed', `containerd restarted but ${problem}`);
    return { changed: swapped, restarted: true, status };
  } catch (err) {
    if (!swapped) throw err;
    throw await rollBack(plan, facts, change, err, deps);
  }
}

/**
 * Puts the previous config back after `cause` and brings containerd onto it; returns the error
 * to report. A containerd still running as the same process never read the new config (the
 * restart command failed before stopping it), so it needs no restart; waiting for a new PID
 * then would only run out the clock.
 */
async function rollBack(
  plan: InstallPlan,
  facts: NodeFacts,
  change: ConfigChange,
  cause: unknown,
  deps: HostDeps,
): Promise<InstallError> {
  const path = plan.flavour.target.path;
  deps.log.error(
    { err: cause, path },
    'change failed after the swap: restoring the previous config',
  );
  await writeTarget(deps.fs, path, change.before);
  const failure =
    cause instanceof InstallError
      ? cause
      : new InstallError('restart-failed', (cause as Error).message);
  const running = await runningPid(deps, facts.containerd.address);
  if (running !== undefined && running === facts.containerd.pid) {
    deps.log.info({ path, pid: running }, 'previous config restored; containerd never restarted');
    failure.message += `; the previous config is restored and containerd (pid ${running}) never restarted, so it still runs it`;
    failure.rolledBack = true;
    return failure;
  }
  try {
    await restartAndWait(plan, facts, running, deps);
  } catch (err) {
    return new InstallError(
      'containerd-down',
      `${failure.message}; the previous config is restored, but restarting containerd onto it failed too: ${(err as Error).message}`,
    );
  }
  deps.log.info({ path }, 'previous config restored and containerd running again');
  failure.rolledBack = true;
  failure.restarted = true;
  return failure;
}
