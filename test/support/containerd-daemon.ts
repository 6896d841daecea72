// Starts a private containerd (own root, state, socket and config under a temp dir) as a plain
// background process, since the test machines have no systemd. Shared by the shim, config-
// patcher and installer tests.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  killAndWait,
  listProcesses,
  processesReferencing,
  unmountBelow,
  withDescendants,
} from './host-processes.ts';
import { startDaemon, type Daemon } from './daemon.ts';
import { runCommand, type CommandResult } from './run-command.ts';
import { waitFor } from './wait.ts';

export interface ContainerdPaths {
  /** Temp dir holding everything below; removed by stop(). */
  dir: string;
  root: string;
  state: string;
  /** gRPC socket; containerd derives the ttrpc socket as `${address}.ttrpc`. */
  address: string;
  configPath: string;
  logPath: string;
}

export interface StartContainerdOptions {
  /** containerd executable; default `containerd` from PATH (Debian's 1.6 on the test VMs). */
  binary?: string;
  /** ctr executable; default the `ctr` next to `binary`, else `ctr` from PATH. */
  ctrBinary?: string;
  /**
   * The config.toml text. root, state and the socket need not be set: they are passed as
   * flags, which override the file. A function gets the paths, e.g. for a CNI conf_dir.
   */
  config: string | ((paths: ContainerdPaths) => string);
  /** Directories put first on the daemon's PATH: where containerd looks up shim binaries. */
  pathPrepend?: string[];
  env?: NodeJS.ProcessEnv;
  logLevel?: 'debug' | 'info' | 'warn';
  readyTimeoutMs?: number;
}

export interface CtrOptions {
  namespace?: string;
  timeoutMs?: number;
}

export interface ContainerdDaemon extends ContainerdPaths {
  pid(): number;
  ctr(args: string[], opts?: CtrOptions): Promise<CommandResult>;
  logTail(lines?: number): string;
  /** Stops only the daemon and starts it again on the config file as it is now on disk. */
  restart(): Promise<void>;
  /**
   * Deletes all tasks and containers, stops the daemon, kills any shim left (and its children)
   * by PID, unmounts and removes `dir`. A failed start keeps `dir` for its log.
   */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

export async function startContainerd(opts: StartContainerdOptions): Promise<ContainerdDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'ctrd-'));
  const paths: ContainerdPaths = {
    dir,
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    address: join(dir, 'containerd.sock'),
    configPath: join(dir, 'config.toml'),
    logPath: join(dir, 'containerd.log'),
  };
  writeFileSync(
    paths.configPath,
    typeof opts.config === 'function' ? opts.config(paths) : opts.config,
  );
  const binary = opts.binary ?? 'containerd';
  const siblingCtr = binary.includes('/') ? join(dirname(binary), 'ctr') : undefined;
  const ctrBinary = opts.ctrBinary ?? (siblingCtr && existsSync(siblingCtr) ? siblingCtr : 'ctr');
  const env = {
    ...process.env,
    ...opts.env,
    PATH: [...(opts.pathPrepend ?? []), opts.env?.PATH ?? process.env.PATH ?? ''].join(':'),
  };
  const logTail = (lines = 40): string => tail(paths.logPath, lines);

  const ctr = (args: string[], o: CtrOptions = {}): Promise<CommandResult> =>
    runCommand(
      ctrBinary,
      ['--address', paths.address, '--namespace', o.namespace ?? 'default', ...args],
      {
        timeoutMs: o.timeoutMs ?? 60_000,
      },
    );

  const relaunch = (): Promise<Daemon> =>
    launch(binary, paths, env, opts.logLevel ?? 'info', opts.readyTimeoutMs ?? 30_000);
  let proc = await relaunch();

  // SIGTERM lets containerd close its sockets and metadata db; its shims keep running.
  const stopDaemon = (): Promise<void> => proc.stop();

  return {
    ...paths,
    pid: () => proc.pid,
    logTail,
    ctr,
    restart: async () => {
      await stopDaemon();
      rmSync(paths.address, { force: true });
      proc = await relaunch();
    },
    stop: async ({ keepDir = false } = {}) => {
      await removeAllContainers(ctr);
      await stopDaemon();
      // v2 shims are started with `-address <our socket>`: that exact path identifies ours.
      const ours = await processesReferencing(paths.address);
      await killAndWait(withDescendants(ours, await listProcesses()), 'SIGKILL', 5_000);
      await unmountBelow(dir);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Kills and deletes every task and container through containerd itself, so runc/youki remove
 * their state under /run/containerd and their cgroups, and the shims exit. Best effort: what
 * remains is killed by PID afterwards.
 */
async function removeAllContainers(
  ctr: (args: string[], o?: CtrOptions) => Promise<CommandResult>,
): Promise<void> {
  const lines = (r: CommandResult): string[] =>
    r.code === 0
      ? r.stdout
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
      : [];
  for (const namespace of lines(await ctr(['namespaces', 'ls', '-q'], { timeoutMs: 10_000 }))) {
    for (const task of lines(await ctr(['tasks', 'ls', '-q'], { namespace, timeoutMs: 10_000 }))) {
      await ctr(['tasks', 'delete', '--force', task], { namespace, timeoutMs: 20_000 });
    }
    for (const c of lines(
      await ctr(['containers', 'ls', '-q'], { namespace, timeoutMs: 10_000 }),
    )) {
      await ctr(['containers', 'delete', c], { namespace, timeoutMs: 10_000 });
    }
  }
}

async function launch(
  binary: string,
  paths: ContainerdPaths,
  env: NodeJS.ProcessEnv,
  logLevel: string,
  readyTimeoutMs: number,
): Promise<Daemon> {
  const args = ['--config', paths.configPath, '--root', paths.root, '--state', paths.state];
  args.push('--address', paths.address, '--log-level', logLevel);
  const daemon = startDaemon('containerd', binary, args, paths.logPath, { env, ownSession: true });
  try {
    // containerd opens its socket only after every plugin is loaded, so a connect means ready.
    await waitFor(
      `containerd (${binary}) to serve ${paths.address}`,
      () => canConnect(paths.address),
      {
        timeoutMs: readyTimeoutMs,
        intervalMs: 100,
        abortIf: () => daemon.exitReason() && `containerd ${daemon.exitReason()}`,
        diagnostics: () => daemon.logTail(40),
      },
    );
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${file})`;
  }
}
