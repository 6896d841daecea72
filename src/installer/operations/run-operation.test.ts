import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import { nodeHostFs } from '../host/fs.ts';
import type { HostProcess } from '../host/proc.ts';
import { runOperation } from './run-operation.ts';
import { errorKind, FAILURE_CODES, REFUSAL_CODES } from '../errors.ts';
import { inspectNode, type NodeDeps } from './apply-change.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'node-operation-'));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'run'));
  mkdirSync(join(root, 'var'));
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

// systemd as Debian, Ubuntu and kind start it.
const DEBIAN_INIT: HostProcess = {
  pid: 1,
  ppid: 0,
  args: ['/sbin/init'],
  comm: 'systemd',
  exe: '/usr/lib/systemd/systemd',
  path: undefined,
};

function deps(procs: HostProcess[] = [DEBIAN_INIT]): NodeDeps {
  const unused = () => Promise.reject(new Error('not used by inspectNode'));
  return {
    fs: nodeHostFs(root),
    exec: { run: unused },
    processes: () => Promise.resolve(procs),
    readAsSeenBy: unused,
    bootId: unused,
    signal: new AbortController().signal,
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
    const { plan } = await inspectNode({ restartTimeoutMs: 60_000 }, deps());
    expect(plan.restart).toEqual({ kind: 'systemd', unit: 'containerd' });
  });
});

describe('inspectNode: sockets compared as real paths', () => {
  it('a kubelet on unix:///var/run/… picks the containerd serving /run/…, beside Docker’s', async () => {
    symlinkSync('../run', join(root, 'var/run'));
    const kubelet: HostProcess = {
      pid: 50,
      ppid: 1,
      args: [
        '/usr/bin/kubelet',
        '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
      ],
      comm: 'kubelet',
      exe: '/usr/bin/kubelet',
      path: undefined,
    };
    const docker = { ...containerd, pid: 800, address: '/run/docker/containerd/containerd.sock' };
    const { inst } = await inspectNode(
      { restartTimeoutMs: 60_000 },
      {
        ...deps([DEBIAN_INIT, kubelet]),
        containerds: () => Promise.resolve([docker, containerd]),
      },
    );
    expect(inst.pid).toBe(containerd.pid);
  });
});

describe('runOperation: refusals and the boot ID in the report', () => {
  const base = { runtimes: [], binDir: '/opt/wasm-node/bin', shimsDir: '/nonexistent' };
  const opts = { ...base, restartTimeoutMs: 60_000, lockTimeoutMs: 1_000 };
  const withBootId = (): NodeDeps => ({
    ...deps(),
    bootId: () => Promise.resolve('5f1c7c1e-0000-4000-8000-000000000001'),
  });

  it('an immutable OS is refused: kind refused, nothing changed, boot ID reported', async () => {
    writeFileSync(join(root, 'etc/os-release'), 'ID=talos\n');
    const report = await runOperation('status', opts, withBootId());
    expect(report).toMatchObject({
      ok: false,
      changed: false,
      bootId: '5f1c7c1e-0000-4000-8000-000000000001',
      error: { code: 'immutable-host', kind: 'refused' },
    });
  });

  it('a missing shims manifest is a failure of the image, not a refusal', async () => {
    const report = await runOperation('install', opts, withBootId());
    expect(report.error).toMatchObject({ code: 'manifest-invalid', kind: 'failed' });
  });
});

describe('errorKind', () => {
  it.each(REFUSAL_CODES)('%s is a refusal', (code) => expect(errorKind(code)).toBe('refused'));
  it.each(FAILURE_CODES)('%s is a failure', (code) => expect(errorKind(code)).toBe('failed'));
  it.each(['invalid-toml', 'handler-conflict', 'ambiguous-namespace'] as const)(
    'a config the patcher will not extend (%s) is the node’s to fix: refused',
    (code) => expect(errorKind(code)).toBe('refused'),
  );
  it('the patcher’s own self-check failing, or an unexpected error, is ours: failed', () => {
    expect(errorKind('verification-failed')).toBe('failed');
    expect(errorKind('internal')).toBe('failed');
  });
});
