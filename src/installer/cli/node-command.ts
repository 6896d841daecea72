import { parseArgs, type ParseArgsConfig } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { resolveRuntimes, RUNTIME_NAMES } from '../../catalog/runtimes.ts';
import { criStatus, criVersion } from '../../cri/runtime-status.ts';
import type { HostDeps } from '../host/deps.ts';
import { hostExec } from '../host/exec.ts';
import { nodeHostFs } from '../host/fs.ts';
import { listHostProcesses, nodeBootId, readAsSeenBy } from '../host/proc.ts';
import { terminationMessage, writeTerminationMessage } from '../operations/report.ts';
import { runOperation } from '../operations/run-operation.ts';
import type { Operation } from '../request.ts';
import { DEFAULT_BIN_DIR } from './config-command.ts';
import { UsageError, type CliIo } from './io.ts';

const USAGE = `usage: wasm-node-installer install|uninstall|status [options]
  --runtimes NAME[,NAME...]   runtimes (${RUNTIME_NAMES.join(', ')}); install needs it
  --host-root DIR             where the node's / is mounted (default /host; / on the node itself)
  --bin-dir DIR               host directory for the shims (default ${DEFAULT_BIN_DIR})
  --shims-dir DIR             shims and manifest.json in this image (default /opt/wasm-node/shims)
  --containerd-socket PATH    which containerd, when the node runs several
  --restart-command CMD       restart containerd with CMD (run on the host) instead of its service
  --restart-timeout SECONDS   how long a restart may take (default 120; 240 on k3s/RKE2 servers and k0s controllers)
  --termination-log PATH      where the JSON report goes (default /dev/termination-log)`;

const OPTIONS = {
  runtimes: { type: 'string' },
  'host-root': { type: 'string', default: '/host' },
  'bin-dir': { type: 'string', default: DEFAULT_BIN_DIR },
  'shims-dir': { type: 'string', default: '/opt/wasm-node/shims' },
  'containerd-socket': { type: 'string' },
  'restart-command': { type: 'string' },
  'restart-timeout': { type: 'string' },
  'termination-log': { type: 'string', default: '/dev/termination-log' },
} satisfies ParseArgsConfig['options'];

function parse(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(
      `${(err as Error).message}; run "wasm-node-installer install --help" for usage`,
    );
  }
}

/** The real node: its filesystem at `hostRoot`, its processes in /proc, its containerd's CRI. */
function hostDeps(hostRoot: string, signal: AbortSignal, log: HostDeps['log']): HostDeps {
  const fs = nodeHostFs(hostRoot);
  return {
    fs,
    exec: hostExec(hostRoot),
    processes: () => listHostProcesses(),
    readAsSeenBy: (pid, path) => readAsSeenBy(pid, path),
    bootId: () => nodeBootId(),
    criStatus: async (address) => criStatus(await fs.located(address), 10_000),
    criVersion: async (address) => criVersion(await fs.located(address), 10_000),
    sleep: (ms) => sleep(ms),
    now: () => Date.now(),
    signal,
    log,
  };
}

/** `install|uninstall|status`: changes (or reads) the node this runs on; exit 1 on any failure. */
export async function nodeCommand(
  operation: Operation,
  args: string[],
  io: CliIo,
): Promise<number> {
  if (args.includes('--help')) {
    io.stderr(`${USAGE}\n`);
    return 0;
  }
  const values = parse(args);
  if (operation === 'install' && !values.runtimes)
    throw new UsageError('install needs --runtimes, e.g. --runtimes wasmtime');
  const timeout =
    values['restart-timeout'] === undefined ? undefined : Number(values['restart-timeout']);
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0))
    throw new UsageError('--restart-timeout takes a number of seconds');
  const names = values.runtimes ? values.runtimes.split(',').map((n) => n.trim()) : [];
  const runtimes = resolveRuntimes(
    operation === 'status' && names.length === 0 ? RUNTIME_NAMES : names,
  );
  const log = pino({ base: { component: 'wasm-node-installer', operation } });
  // A drain or the Job's deadline: stop if nothing is changed yet, else finish or roll back.
  const stop = new AbortController();
  const onTerm = () => {
    log.warn('SIGTERM: stopping before any change, or finishing the change in progress');
    stop.abort();
  };
  process.on('SIGTERM', onTerm);
  const report = await runOperation(
    {
      operation,
      runtimes,
      binDir: values['bin-dir'],
      shimsDir: values['shims-dir'],
      containerdSocket: values['containerd-socket'],
      restartCommand: values['restart-command'],
      restartTimeoutMs: timeout === undefined ? undefined : timeout * 1000,
      lockTimeoutMs: 120_000,
    },
    hostDeps(values['host-root'], stop.signal, log),
  ).finally(() => process.off('SIGTERM', onTerm));
  io.stdout(`${terminationMessage(report)}\n`);
  await writeTerminationMessage(values['termination-log'], report).catch((err: unknown) =>
    log.warn({ err }, 'could not write the termination message'),
  );
  if (!report.ok) io.stderr(`error: ${report.error?.message} [${report.error?.code}]\n`);
  return report.ok ? 0 : 1;
}
