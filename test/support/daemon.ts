import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

const STOP_GRACE_MS = 10_000;

/**
 * Starts a long-running binary with its output appended to LOG_DIR/NAME.log. setpriv's
 * parent-death signal kills it if the test process dies without stopping it, so a crashed jest
 * worker leaves no apiserver or etcd behind.
 */
export function startDaemon(name: string, bin: string, args: string[], logDir: string): Daemon {
  const logPath = path.join(logDir, `${name}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${bin}`);
  const pid = child.pid;
  let running = true;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running = false;
      resolve();
    });
  });
  const logTail = (lines = 40): string => {
    const text = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `----- last lines of ${logPath} -----\n${text}`;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  return { name, pid, logPath, exited, isRunning: () => running, stop, logTail };
}
