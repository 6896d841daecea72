import type { Logger } from 'pino';
import { registeredHandlers, type RuntimeStatus } from '../../cri/runtime-status.ts';
import { parseToml } from '../../containerd/toml-table.ts';
import type { ConfigChange, CurrentFiles } from '../plan/config-change.ts';
import { validateCandidate } from './validate.ts';
import {
  configAddress,
  containerdConfigPaths,
  containerdInstances,
  kubeletEndpointFlag,
  selectContainerd,
  socketPath,
  type ContainerdInstance,
} from '../facts/containerd-instance.ts';
import {
  missingHandlers,
  restartContainerd,
  waitForContainerd,
  type RestartDeps,
} from './restart.ts';
import type { HostExec } from '../host/exec.ts';
import type { HostFs } from '../host/fs.ts';
import type { HostProcess } from '../host/proc.ts';
import { InstallError } from '../errors.ts';
import {
  parseOsRelease,
  planFlavour,
  probePaths,
  type EditTarget,
  type FlavourPlan,
} from '../plan/node-flavour.ts';

export interface NodeDeps extends RestartDeps {
  fs: HostFs;
  exec: HostExec;
  processes: () => Promise<HostProcess[]>;
  /** A file as a process sees it (host-processes.ts readAsSeenBy). */
  readAsSeenBy: (pid: number, path: string) => Promise<string | undefined>;
  /** The node's boot ID, as its kubelet reports it in status.nodeInfo.bootID. */
  bootId: () => Promise<string | undefined>;
  /** Aborted on SIGTERM: stop before changing the node, or finish the change in progress. */
  signal: AbortSignal;
  log: Logger;
}

export interface NodeOptions {
  containerdSocket?: string | undefined;
  restartCommand?: string | undefined;
  /** Overrides the flavour's restart timeout (node-flavour.ts RESTART_TIMEOUT_MS). */
  restartTimeoutMs?: number | undefined;
}

export interface NodeContext {
  inst: ContainerdInstance;
  plan: FlavourPlan;
}

/**
 * Running containerds, with the socket each one's config sets when no flag does, as the real
 * host path (links resolved), which is how sockets are compared.
 */
export async function findContainerds(
  fs: HostFs,
  procs: readonly HostProcess[],
): Promise<ContainerdInstance[]> {
  const addresses = new Map<string, string | undefined>();
  for (const path of containerdConfigPaths(procs)) {
    const text = (await fs.readText(path)) ?? '';
    try {
      addresses.set(path, configAddress(parseToml(text)));
    } catch {
      // Broken on disk since containerd read it: its [grpc] address line still tells the socket.
      addresses.set(path, /^\s*\[grpc\][^[]*?^\s*address\s*=\s*["']([^"']+)["']/ms.exec(text)?.[1]);
    }
  }
  const found = containerdInstances(procs, (path) => addresses.get(path));
  return Promise.all(found.map(async (c) => ({ ...c, address: await fs.realpath(c.address) })));
}

/**
 * A config file's text, undefined only when it does not exist: one that cannot be read is
 * refused, never taken for missing and replaced.
 */
async function readConfig(fs: HostFs, path: string): Promise<string | undefined> {
  try {
    return await fs.readText(path);
  } catch (err) {
    throw new InstallError('config-unreadable', `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Finds the kubelet's containerd and decides how this node is edited and restarted. */
export async function inspectNode(opts: NodeOptions, deps: NodeDeps): Promise<NodeContext> {
  const procs = await deps.processes();
  const kubelet = kubeletEndpointFlag(procs);
  let kubeletEndpoint = kubelet.endpoint;
  if (kubeletEndpoint === undefined && kubelet.configFile !== undefined) {
    const yaml = (await deps.fs.readText(kubelet.configFile)) ?? '';
    const m = /^containerRuntimeEndpoint:\s*["']?([^"'\s]+)/m.exec(yaml);
    if (m) kubeletEndpoint = socketPath(m[1] as string);
  }
  const real = (p: string | undefined) => (p === undefined ? undefined : deps.fs.realpath(p));
  const inst = selectContainerd(await deps.containerds(), {
    socket: await real(opts.containerdSocket),
    kubeletEndpoint: await real(kubeletEndpoint),
  });
  const existing = new Set<string>();
  for (const p of probePaths(inst)) if (await deps.fs.exists(p)) existing.add(p);
  const pid1 = procs.find((p) => p.pid === 1);
  const plan = planFlavour(inst, {
    osRelease: parseOsRelease(await deps.fs.readText('/etc/os-release')),
    init: {
      exe: pid1?.exe,
      comm: pid1?.comm,
      systemdRunning: await deps.fs.exists('/run/systemd/system'),
      openrcRunning: await deps.fs.exists('/run/openrc'),
    },
    configText: await readConfig(deps.fs, inst.configPath),
    existing,
    restartCommand: opts.restartCommand,
    restartTimeoutMs: opts.restartTimeoutMs,
  });
  deps.log.info(
    {
      pid: inst.pid,
      config: inst.configPath,
      address: inst.address,
      flavour: plan.flavour,
      target: plan.target,
      restart: plan.restart,
    },
    'node inspected',
  );
  return { inst, plan };
}

export async function currentFiles(ctx: NodeContext, deps: NodeDeps): Promise<CurrentFiles> {
  const { inst, plan } = ctx;
  const rendered = await readConfig(deps.fs, inst.configPath);
  let version = 2;
  try {
    const v = parseToml(rendered ?? '')['version'];
    if (typeof v === 'number' || typeof v === 'bigint') version = Number(v);
  } catch {
    // a distribution's own file that does not parse: the drop-in keeps version 2
  }
  return {
    target: await readConfig(deps.fs, plan.target.path),
    rendered: plan.target.kind === 'template' ? rendered : undefined,
    version,
    seed: async () => {
      const r = await deps.exec.run([inst.exe, 'config', 'default'], { timeoutMs: 30_000 });
      if (r.code !== 0)
        throw new InstallError(
          'config-missing',
          `${inst.configPath} is missing and \`${inst.exe} config default\` failed: ${r.stderr.trim()}`,
        );
      return r.stdout;
    },
  };
}

/** Why containerd's CRI view differs from what we want, or undefined when it matches. */
function unsettled(
  status: RuntimeStatus,
  expected: ReadonlyMap<string, string>,
  removed: readonly string[],
): string | undefined {
  const missing = missingHandlers(status, expected);
  if (missing.length > 0) return `does not report handler(s) ${missing.join(', ')} through CRI`;
  const lingering = removed.filter((name) => registeredHandlers(status).has(name));
  if (lingering.length > 0)
    return `still reports removed handler(s) ${lingering.join(', ')} through CRI`;
  return undefined;
}

const BACKUP_SUFFIX = '.wasm-node.bak';

/** The file containerd's config dump must be run beside, so relative imports resolve. */
const effectivePath = (target: EditTarget) =>
  target.kind === 'template' ? target.renderedPath : target.path;

async function writeTarget(fs: HostFs, path: string, text: string | undefined): Promise<void> {
  if (text === undefined) await fs.remove(path);
  else await fs.writeAtomic(path, text);
}

export interface AppliedChange {
  changed: boolean;
  restarted: boolean;
  rolledBack: boolean;
  status: RuntimeStatus;
}

/**
 * Validates, backs up, swaps in, restarts and verifies; on any failure after the swap it puts
 * the old bytes back and restarts again, so the node ends as it began.
 */
export async function applyChange(
  ctx: NodeContext,
  change: ConfigChange,
  expected: ReadonlyMap<string, string>,
  removed: readonly string[],
  opts: NodeOptions,
  deps: NodeDeps,
): Promise<AppliedChange> {
  const { inst, plan } = ctx;
  const path = plan.target.path;
  if (change.after === change.before) {
    const status = await deps.criStatus(inst.address);
    if (unsettled(status, expected, removed) === undefined) {
      deps.log.info(
        { path },
        'config already as wanted and containerd has loaded it: nothing to do',
      );
      return { changed: false, restarted: false, rolledBack: false, status };
    }
    deps.log.info(
      { path },
      'config already as wanted but containerd has not loaded it: restarting',
    );
  } else {
    if (plan.restart.kind === 'none')
      throw new InstallError('no-restart-method', plan.restart.reason);
    const link = await deps.fs.symlinkTarget(path);
    if (link !== undefined) {
      throw new InstallError(
        'config-symlinked',
        `${path} is a symlink to ${link}: whatever manages that file (NixOS, a configuration tool) would undo or never see a change there; add the runtimes where it is generated, or replace the link by a file`,
      );
    }
    stopIfInterrupted(deps);
    await validateCandidate(
      {
        inst,
        path: effectivePath(plan.target),
        before: change.effectiveBefore,
        candidate: change.effective,
        handlers: expected,
        removed,
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
  try {
    // Once the restart has begun, stopping halfway would leave the node worse than either end.
    if (change.after !== change.before) stopIfInterrupted(deps);
    const { status } = await restartAndWait(ctx, inst.pid, deps);
    const problem = unsettled(status, expected, removed);
    if (problem !== undefined)
      throw new InstallError('verification-failed', `containerd restarted but ${problem}`);
    return { changed: change.after !== change.before, restarted: true, rolledBack: false, status };
  } catch (err) {
    if (change.after === change.before) throw err;
    throw await rollBack(ctx, change, err, opts, deps);
  }
}

/** Throws `interrupted` once SIGTERM has come; only called where stopping leaves the node as it was. */
export function stopIfInterrupted(deps: Pick<NodeDeps, 'signal'>): void {
  if (deps.signal.aborted)
    throw new InstallError('interrupted', 'stopped by SIGTERM before containerd was restarted');
}

/** Restarts containerd and waits for a process other than `oldPid`, within the plan's timeout. */
async function restartAndWait(ctx: NodeContext, oldPid: number | undefined, deps: NodeDeps) {
  const { inst, plan } = ctx;
  const deadline = deps.now() + plan.restartTimeoutMs;
  await restartContainerd(plan.restart, plan.restartTimeoutMs, deps);
  return waitForContainerd(inst.address, oldPid, Math.max(0, deadline - deps.now()), deps);
}

/** The containerd serving `address` now, or undefined when none does. */
const runningPid = (deps: NodeDeps, address: string) =>
  deps
    .containerds()
    .then((all) => selectContainerd(all, { socket: address }).pid)
    .catch(() => undefined);

/**
 * Puts the previous config back after `cause` and brings containerd onto it; returns the error
 * to report. A containerd still running as the same process never read the new config (the
 * restart command failed before stopping it), so it needs no restart; waiting for a new PID
 * then would only run out the clock.
 */
async function rollBack(
  ctx: NodeContext,
  change: ConfigChange,
  cause: unknown,
  opts: NodeOptions,
  deps: NodeDeps,
): Promise<InstallError> {
  const { inst, plan } = ctx;
  const path = plan.target.path;
  deps.log.error(
    { err: cause, path },
    'change failed after the swap: restoring the previous config',
  );
  await writeTarget(deps.fs, path, change.before);
  const failure =
    cause instanceof InstallError
      ? cause
      : new InstallError('restart-failed', (cause as Error).message);
  const running = await runningPid(deps, inst.address);
  if (running !== undefined && running === inst.pid) {
    deps.log.info({ path, pid: running }, 'previous config restored; containerd never restarted');
    failure.message += `; the previous config is restored and containerd (pid ${running}) never restarted, so it still runs it`;
    failure.rolledBack = true;
    return failure;
  }
  try {
    await restartAndWait(ctx, running, deps);
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
