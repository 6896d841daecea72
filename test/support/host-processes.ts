// Process and mount helpers for tests that start real daemons as root. Everything is found
// by PID or by an exact path the test owns, never by process name, so parallel tests and the
// machine's own daemons are left alone.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { listHostProcesses, type HostProcess } from '../../src/installer/host/proc.ts';
import { runCommand } from './run-command.ts';

/** The node's processes, read by the installer's own /proc reader. */
export const listProcesses = (): Promise<HostProcess[]> => listHostProcesses();

/** PIDs of live processes other than this one whose command line contains `text` (a work dir). */
export async function processesReferencing(text: string): Promise<number[]> {
  return (await listProcesses())
    .filter((p) => p.pid !== process.pid && p.args.join(' ').includes(text))
    .map((p) => p.pid);
}

/** The given PIDs plus all their descendants among `procs`. */
export function withDescendants(pids: number[], procs: readonly HostProcess[]): number[] {
  const found = new Set(pids);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) {
      if (found.has(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to each PID and waits until all are gone; returns the ones still alive. */
export async function killAndWait(
  pids: number[],
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<number[]> {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(50);
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** Unmounts everything mounted below `dir` (snapshot and rootfs mounts a killed daemon left). */
export async function unmountBelow(dir: string): Promise<void> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    // mountinfo escapes space, tab, newline and backslash as octal
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    const r = await runCommand('umount', [p]);
    if (r.code !== 0) await runCommand('umount', ['-l', p]);
  }
}
