import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
  /** How it ended (exit code and signal, or why it could not start); undefined while it runs. */
  exitReason(): string | undefined;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

export interface DaemonOptions {
  env?: NodeJS.ProcessEnv;
  /** A session of its own, so a Ctrl-C of the test run does not reach it before stop() does. */
  ownSession?: boolean;
}

const STOP_GRACE_MS = 10_000;

/**
 * The one way tests start a long-running binary: output appended to `logPath`, and setpriv's
 * parent-death signal kills it if the test process dies without stopping it, so a crashed jest
 * worker leaves no apiserver, etcd or containerd behind.
 */
export function startDaemon(
  name: string,
  bin: string,
  args: string[],
  logPath: string,
  opts: DaemonOptions = {},
): Daemon {
  const log = openSync(logPath, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args], {
    stdio: ['ignore', log, log],
    detached: opts.ownSession ?? false,
    env: opts.env ?? process.env,
  });
  closeSync(log);
  let reason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      reason = `exited with code ${code}, signal ${signal}`;
      resolve();
    });
    child.once('error', (err) => {
      reason = err.message;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${bin}`);
  const pid = child.pid;
  const logTail = (lines = 40): string => {
    let text: string;
    try {
      text = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      text = '(no log yet)';
    }
    return `----- last lines of ${logPath} -----\n${text}`;
  };
  const stop = async (): Promise<void> => {
    if (reason !== undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    pid,
    logPath,
    exited,
    isRunning: () => reason === undefined,
    exitReason: () => reason,
    stop,
    logTail,
  };
}
