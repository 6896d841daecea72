import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ContainerdInstance } from './containerd-instance.ts';
import { nodeHostFs } from './host-fs.ts';
import type { HostProcess } from './host-processes.ts';
import { inspectNode, type NodeDeps } from './node-operation.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'node-operation-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/os-release'), 'ID=debian\nVERSION_ID="12"\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const containerd: ContainerdInstance = {
  pid: 700,
  exe: '/usr/bin/containerd',
  configPath: '/etc/containerd/config.toml',
  address: '/run/containerd/containerd.sock',
  path: '/usr/bin',
  ancestors: [],
};

function deps(pid1: HostProcess): NodeDeps {
  const unused = () => Promise.reject(new Error('not used by inspectNode'));
  return {
    fs: nodeHostFs(root),
    exec: { run: unused },
    processes: () => Promise.resolve([pid1]),
    readAsSeenBy: unused,
    containerds: () => Promise.resolve([containerd]),
    criStatus: unused,
    sleep: unused,
    now: () => 0,
    log: pino({ level: 'silent' }),
  };
}

describe('inspectNode: the restart method of a stock Debian node', () => {
  it('systemd started as /sbin/init restarts containerd through systemctl, not rc-service', async () => {
    mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
    const init: HostProcess = {
      pid: 1,
      ppid: 0,
      args: ['/sbin/init'],
      comm: 'systemd',
      exe: '/usr/lib/systemd/systemd',
      path: undefined,
    };
    const { plan } = await inspectNode({ restartTimeoutMs: 60_000 }, deps(init));
    expect(plan.restart).toEqual({ kind: 'systemd', unit: 'containerd' });
  });
});
