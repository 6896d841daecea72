import { writeFile } from 'node:fs/promises';
import type { Runtime } from '../../catalog/runtimes.ts';
import { ownedHandlers } from '../../containerd/patch-config.ts';
import { registeredHandlers } from '../../cri/runtime-status.ts';
import { planInstall, planUninstall } from '../plan/config-change.ts';
import { builtInRuntimes, containerdVersion } from './validate.ts';
import { acquireHostLock } from '../host/lock.ts';
import { errorKind, InstallError, reportedCode } from '../errors.ts';
import {
  applyChange,
  currentFiles,
  stopIfInterrupted,
  inspectNode,
  type NodeContext,
  type NodeDeps,
  type NodeOptions,
} from './apply-change.ts';
import {
  INSTALL_REPORT_SCHEMA,
  type InstallReport,
  type RuntimeReport,
} from '../../formats/install-report.ts';
import { crunCgroupRefusal } from '../plan/crun-cgroups.ts';
import { copyShims, planShims, pruneShims } from '../shims/manifest.ts';
import {
  copyShimsToPath,
  legacyShimCri,
  removeShimsFromPath,
  undoPathWrites,
  type PathWrite,
} from '../shims/containerd-path.ts';

export interface OperationOptions extends NodeOptions {
  runtimes: readonly Runtime[];
  binDir: string;
  shimsDir: string;
  lockTimeoutMs: number;
}

type Outcome = Omit<InstallReport, 'schema' | 'operation' | 'ok' | 'durationMs' | 'error'>;

/** The report fields every successful operation shares. */
function outcomeOf(ctx: NodeContext, applied: { changed: boolean; restarted: boolean }) {
  return {
    flavour: ctx.plan.flavour,
    configPath: ctx.plan.target.path,
    changed: applied.changed,
    restarted: applied.restarted,
    rolledBack: false,
  };
}

async function install(opts: OperationOptions, deps: NodeDeps): Promise<Outcome> {
  const ctx = await inspectNode(opts, deps);
  const shims = await planShims(opts.runtimes, opts);
  if (opts.runtimes.some((r) => r.launch === 'runc-binary')) {
    const refusal = crunCgroupRefusal(
      await deps.readAsSeenBy(ctx.inst.pid, '/sys/fs/cgroup/unified/cgroup.controllers'),
    );
    if (refusal) throw new InstallError('cgroups-unsupported', refusal);
  }
  const version = await containerdVersion(ctx.inst, deps.exec);
  const legacy = legacyShimCri(version);
  const builtIn = version.major < 2 ? await builtInRuntimes(ctx.inst, deps.exec) : undefined;
  const files = { ...(await currentFiles(ctx, deps)), builtIn };
  const change = await planInstall(
    ctx.plan.target,
    files,
    shims.map((s) => ({ runtime: s.runtime, binaryPath: s.path, shimOptions: !legacy })),
  );
  const expected = new Map(opts.runtimes.map((r) => [r.name, r.runtimeType]));
  // Binaries go on the node only once the config change is known to be possible, and come
  // off again if the change fails, so a refused install leaves nothing behind.
  stopIfInterrupted(deps);
  const copied = await copyShims(shims, opts.binDir, deps.fs);
  let onPath: PathWrite[] = [];
  let applied;
  try {
    if (legacy) {
      const named = shims.flatMap((s) =>
        s.runtime.launch === 'shim' && s.bytes
          ? [{ binary: s.runtime.binary, sha256: s.sha256, bytes: s.bytes }]
          : [],
      );
      onPath = await copyShimsToPath(ctx.inst, named, opts.binDir, deps.fs);
      if (onPath.length > 0)
        deps.log.info({ files: onPath.map((w) => w.file) }, "shims copied onto containerd's PATH");
    }
    applied = await applyChange(ctx, change, expected, [], opts, deps);
  } catch (err) {
    await undoPathWrites(onPath, deps.fs);
    for (const dir of copied) await deps.fs.remove(dir);
    throw err;
  }
  const handlers = registeredHandlers(applied.status);
  const adopted = new Map(change.patch.adopted.map((a) => [a.name, a.runtimePath]));
  await prune(
    opts,
    deps,
    shims.map((s) => s.path),
  );
  return {
    ...outcomeOf(ctx, applied),
    runtimes: shims.map((s): RuntimeReport => ({
      name: s.runtime.name,
      version: s.version,
      sha256: s.sha256,
      path: adopted.has(s.runtime.name) ? adopted.get(s.runtime.name) : s.path,
      verified: handlers.get(s.runtime.name) === s.runtime.runtimeType,
      adopted: adopted.has(s.runtime.name),
    })),
  };
}

async function uninstall(opts: OperationOptions, deps: NodeDeps): Promise<Outcome> {
  const ctx = await inspectNode(opts, deps);
  const files = await currentFiles(ctx, deps);
  const owned = ownedHandlers(files.rendered ?? files.target ?? '');
  const change = planUninstall(ctx.plan.target, files);
  const applied = await applyChange(ctx, change, new Map(), owned, opts, deps);
  // Before the prune: a copy on PATH is recognised as ours by its binary in the bin dir.
  const fromPath = await removeShimsFromPath(ctx.inst, opts.binDir, deps.fs);
  if (fromPath.length > 0)
    deps.log.info({ files: fromPath }, "shims removed from containerd's PATH");
  await prune(opts, deps, []);
  const handlers = registeredHandlers(applied.status);
  return {
    ...outcomeOf(ctx, applied),
    runtimes: owned.map((name) => ({ name, verified: !handlers.has(name), adopted: false })),
  };
}

async function status(opts: OperationOptions, deps: NodeDeps): Promise<Outcome> {
  const ctx = await inspectNode(opts, deps);
  const files = await currentFiles(ctx, deps);
  const handlers = registeredHandlers(await deps.criStatus(ctx.inst.address));
  const owned = new Set(ownedHandlers(files.rendered ?? files.target ?? ''));
  return {
    ...outcomeOf(ctx, { changed: false, restarted: false }),
    runtimes: opts.runtimes.map((r) => ({
      name: r.name,
      verified: handlers.get(r.name) === r.runtimeType,
      adopted: handlers.has(r.name) && !owned.has(r.name),
    })),
  };
}

async function prune(opts: OperationOptions, deps: NodeDeps, keep: readonly string[]) {
  const running = (await deps.processes()).flatMap((p) => (p.exe ? [p.exe] : []));
  const removed = await pruneShims(opts.binDir, keep, running, deps.fs);
  if (removed.length > 0) deps.log.info({ removed }, 'removed binaries no longer used');
}

const OPERATIONS = { install, uninstall, status };
export type Operation = keyof typeof OPERATIONS;

/** Runs one operation under the node lock and always returns a report, failures included. */
export async function runOperation(
  operation: Operation,
  opts: OperationOptions,
  deps: NodeDeps,
): Promise<InstallReport> {
  const start = deps.now();
  const base = { schema: INSTALL_REPORT_SCHEMA, operation } as const;
  let release: (() => Promise<void>) | undefined;
  try {
    release = await acquireHostLock(deps.fs, {
      timeoutMs: opts.lockTimeoutMs,
      sleep: deps.sleep,
      now: deps.now,
      onWait: (owner) => deps.log.info({ owner }, 'waiting for the host lock'),
      signal: deps.signal,
    });
    const outcome = await OPERATIONS[operation](opts, deps);
    const bootId = await deps.bootId();
    return { ...base, ok: true, ...outcome, bootId, durationMs: deps.now() - start };
  } catch (err) {
    const code = reportedCode(err);
    deps.log.error({ err }, `${operation} failed`);
    return {
      ...base,
      ok: false,
      runtimes: [],
      changed: false,
      restarted: err instanceof InstallError && err.restarted,
      rolledBack: err instanceof InstallError && err.rolledBack,
      durationMs: deps.now() - start,
      bootId: await deps.bootId(),
      error: { code, message: (err as Error).message, kind: errorKind(code) },
    };
  } finally {
    await release?.();
  }
}

/**
 * The kubelet keeps at most 4096 bytes of a termination message; long error texts are cut so
 * the JSON stays whole and parseable.
 */
export function terminationMessage(report: InstallReport): string {
  const full = JSON.stringify(report);
  const excess = Buffer.byteLength(full) - 4000;
  if (excess <= 0 || report.error === undefined) return full;
  // Cutting characters by the byte excess is enough: a character is at least one byte.
  const room = Math.max(200, report.error.message.length - excess);
  return JSON.stringify({
    ...report,
    error: { ...report.error, message: report.error.message.slice(0, room) },
  });
}

export async function writeTerminationMessage(path: string, report: InstallReport): Promise<void> {
  await writeFile(path, terminationMessage(report));
}
