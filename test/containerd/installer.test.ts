import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInstaller, writeShimsDir } from '../support/installer-cli.ts';
import { repoPath } from '../support/repo.ts';
import { startSupervisedNode } from '../support/supervised-node.ts';

// The installer CLI's lifecycle, faults and rollbacks are proven on systemd machines
// (test/machines/installer.test.ts), where it finds containerd.service on its own. What stays
// here needs a service manager the machines do not run: one that starts containerd as the
// restart command's own child, as OpenRC's start-stop-daemon does (systemd starts it in its
// unit's cgroup whoever asks), so it stands in with --restart-command on a supervised containerd.
const scratch = mkdtempSync(join(tmpdir(), 'installer-test-'));
let shims = '';

beforeAll(() => {
  const shim = execFileSync('bash', [repoPath('e2e/tools/build-wasm-shim.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  shims = writeShimsDir(join(scratch, 'good'), shim, { version: '0.1.0-test' });
}, 1_800_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the cgroup a restart starts containerd in', () => {
  // cgroup v1 (these VMs): the memory hierarchy, where a pod's limit lives; else the v2 one.
  const v1 = existsSync('/sys/fs/cgroup/memory/cgroup.procs');
  const hierarchy = v1 ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
  const cgroupOf = (pid: number) =>
    readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => (v1 ? /^\d+:memory:/.test(l) : l.startsWith('0::')))
      ?.split(':')[2];

  it('a restart command that forks containerd (as OpenRC does) starts it in the host’s root cgroup, not the installer pod’s', async () => {
    const n = await startSupervisedNode();
    const pod = `/wasm-node-installer-test-${process.pid}-${Date.now()}`;
    mkdirSync(`${hierarchy}${pod}`);
    try {
      const forked = join(n.dir, 'run/forked.pid');
      // Stops the supervised containerd for good, then starts one as its own child.
      const forking = join(n.dir, 'bin/forking-restart');
      writeFileSync(
        forking,
        `#!/bin/sh\nkill -TERM "$(cat ${n.dir}/run/containerd-supervisor.pid)"\nwhile [ -e ${n.dir}/run/containerd.pid ]; do sleep 0.1; done\nsetsid containerd --config ${n.configPath} >> ${n.dir}/log/containerd.log 2>&1 < /dev/null &\necho $! > ${forked}\n`,
        { mode: 0o755 },
      );
      const { report } = await runInstaller(n, ['install', '--runtimes', 'wasmtime'], {
        shimsDir: shims,
        restartCommand: forking,
        cgroups: [`${hierarchy}${pod}/cgroup.procs`],
        terminationLog: join(n.dir, 'termination-log'),
      });
      expect(report).toMatchObject({ ok: true, restarted: true });
      expect(cgroupOf(Number(readFileSync(forked, 'utf8')))).toBe(cgroupOf(1));
    } finally {
      await n.stop();
      rmdirSync(`${hierarchy}${pod}`);
    }
  }, 240_000);
});
