// Test support for the installer's unit tests: a host root in a temp dir and HostDeps whose
// every edge fails unless a test gives it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { HostDeps } from './deps.ts';
import { nodeHostFs } from './fs.ts';
import type { HostProcess } from './proc.ts';

/** A host root with /etc/os-release (Debian 12), /run and /var; `dispose` removes it. */
export function tempHostRoot(): { root: string; path: (p: string) => string; dispose: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'host-root-'));
  for (const d of ['etc', 'run', 'var']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'etc/os-release'), 'ID=debian\nVERSION_ID="12"\n');
  return {
    root,
    path: (p) => join(root, p),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** systemd as Debian, Ubuntu and kind start it. */
export const DEBIAN_INIT: HostProcess = {
  pid: 1,
  ppid: 0,
  args: ['/sbin/init'],
  comm: 'systemd',
  exe: '/usr/lib/systemd/systemd',
  path: undefined,
};

/** A process as /proc would show it: `args[0]`'s file is its exe. */
export const hostProcess = (pid: number, args: string[], over: Partial<HostProcess> = {}) => ({
  pid,
  ppid: 1,
  args,
  comm: (args[0] ?? '').split('/').pop() ?? '',
  exe: args[0],
  path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ...over,
});

/** HostDeps on `root` with these processes; anything else rejects unless `over` gives it. */
export function fakeHostDeps(
  root: string,
  procs: readonly HostProcess[],
  over: Partial<HostDeps> = {},
): HostDeps {
  const unused = (what: string) => () => Promise.reject(new Error(`${what} not faked`));
  return {
    fs: nodeHostFs(root),
    exec: { run: unused('exec') },
    processes: () => Promise.resolve([...procs]),
    readAsSeenBy: unused('readAsSeenBy'),
    bootId: () => Promise.resolve(undefined),
    criStatus: unused('criStatus'),
    criVersion: unused('criVersion'),
    sleep: () => Promise.resolve(),
    now: () => 0,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    ...over,
  };
}
