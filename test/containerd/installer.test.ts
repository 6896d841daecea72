import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { criStatus, registeredHandlers } from '../../src/cri/runtime-status.ts';
import { nodeHostFs } from '../../src/installer/host/fs.ts';
import { acquireHostLock } from '../../src/installer/host/lock.ts';
import { runCommand } from '../support/run-command.ts';
import { waitFor } from '../support/wait.ts';
import {
  INSTALLER_CLI,
  installerCommand,
  type InstallerTarget,
  runInstaller,
  startInstaller,
  writeShimsDir,
} from '../support/installer-cli.ts';
import { containerdBuilds, type ContainerdBuild } from '../support/containerd-builds.ts';
import {
  debianShippedConfig,
  nodeConfigV3,
  startSupervisedNode,
  type SupervisedNode,
} from '../support/supervised-node.ts';

// The installer as it runs on a node: the real CLI in a child process, against a real
// containerd kept alive by a supervisor, with the real wasmtime shim built from crates.io.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let shimPath = '';
let helloImage = '';
let shims = '';
let node: SupervisedNode | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'installer-test-'));

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const shimsDir = (name: string, corrupt = false) =>
  writeShimsDir(join(scratch, name), shimPath, { version: '0.1.0-test', corrupt });

beforeAll(() => {
  const build = (script: string) =>
    execFileSync('bash', [join(ROOT, script)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  shimPath = build('e2e/tools/build-wasm-shim.sh');
  helloImage = build('e2e/wasm/build-hello-image.sh');
  shims = shimsDir('good');
}, 1_800_000);
afterEach(async () => {
  await node?.stop();
  node = undefined;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const installer = (n: SupervisedNode, args: string[], extra: Partial<InstallerTarget> = {}) =>
  runInstaller(n, args, {
    ...extra,
    shimsDir: extra.shimsDir ?? shims,
    terminationLog: join(n.dir, `termination-log-${Math.random().toString(36).slice(2)}`),
  });

/** A restart command of the test's own, in the node's bin dir: `body` is the shell script. */
function restartScript(n: SupervisedNode, name: string, body: string): string {
  const file = join(n.dir, 'bin', name);
  writeFileSync(file, body, { mode: 0o755 });
  return file;
}

/** Runs `fn` holding the installers' host lock (the tests run on the host: --host-root /). */
async function withHostLock(fn: () => Promise<void>): Promise<void> {
  const release = await acquireHostLock(nodeHostFs('/'), {
    timeoutMs: 120_000,
    sleep: (ms) => sleep(ms),
    now: () => Date.now(),
  });
  try {
    await fn();
  } finally {
    await release();
  }
}

/** The node as it was: same bytes, same containerd process, no binaries, no handler. */
async function unchanged(n: SupervisedNode, original: string, pid: number | undefined) {
  expect(readFileSync(n.configPath, 'utf8')).toBe(original);
  expect(n.containerdPid()).toBe(pid);
  expect(binaries(n)).toEqual([]);
  expect((await handlers(n)).has('wasmtime')).toBe(false);
}

const handlers = async (n: SupervisedNode) => registeredHandlers(await criStatus(n.socket, 10_000));
const binaries = (n: SupervisedNode) => (existsSync(n.binDir) ? readdirSync(n.binDir) : []);

describe('install, re-run and uninstall on a real containerd', () => {
  it('registers wasmtime through CRI, then re-runs as a no-op, then restores the file byte for byte', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const pid0 = node.containerdPid();

    const first = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(first.report).toMatchObject({
      ok: true,
      operation: 'install',
      changed: true,
      restarted: true,
      flavour: 'containerd',
    });
    expect(first.report.runtimes).toEqual([
      expect.objectContaining({ name: 'wasmtime', verified: true, version: '0.1.0-test' }),
    ]);
    expect(first.report.bootId).toBe(
      readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    );
    expect(node.containerdPid()).not.toBe(pid0);
    expect((await handlers(node)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
    const patched = readFileSync(node.configPath, 'utf8');
    expect(patched.startsWith(original)).toBe(true);
    expect(readFileSync(`${node.configPath}.wasm-node.bak`, 'utf8')).toBe(original);
    const installedShim = first.report.runtimes[0]?.path as string;
    expect(installedShim.startsWith(`${node.binDir}/`)).toBe(true);
    expect(sha256(readFileSync(installedShim))).toBe(sha256(readFileSync(shimPath)));

    const pid1 = node.containerdPid();
    const second = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(second.report).toMatchObject({ ok: true, changed: false, restarted: false });
    expect(readFileSync(node.configPath, 'utf8')).toBe(patched);
    expect(node.containerdPid()).toBe(pid1);

    const removed = await installer(node, ['uninstall', '--runtimes', 'wasmtime']);
    expect(removed.report).toMatchObject({
      ok: true,
      operation: 'uninstall',
      changed: true,
      restarted: true,
    });
    expect(readFileSync(node.configPath, 'utf8')).toBe(original);
    expect((await handlers(node)).has('wasmtime')).toBe(false);
    expect(binaries(node)).toEqual([]);
  }, 300_000);

  it('the installed shim runs a WASI module: ctr run with the installed binary prints the greeting', async () => {
    node = await startSupervisedNode();
    const { report } = await installer(node, ['install', '--runtimes', 'wasmtime']);
    const shim = report.runtimes[0]?.path as string;
    const ctr = (args: string[]) =>
      runCommand('ctr', ['--address', node!.socket, '--namespace', 'default', ...args], {
        timeoutMs: 120_000,
      });
    expect((await ctr(['images', 'import', helloImage])).code).toBe(0);
    // An absolute runtime is the binary itself: the same file the config's runtime_path names.
    const run = await ctr([
      'run',
      '--rm',
      '--runtime',
      shim,
      'localhost/wasm-hello:v1',
      'hello-installed',
    ]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('Hello from WebAssembly');
    expect(run.code).toBe(0);
  }, 300_000);
});

describe("Debian's shipped config, which declares no runtime", () => {
  it.each(['debian-1.6', 'v1.7.35', 'v2.2.9'])(
    'containerd %s: runc kept, wasmtime verified, uninstall restores the bytes',
    async (version) => {
      const build = containerdBuilds().find((b) => b.version === version) as ContainerdBuild;
      node = await startSupervisedNode({
        config: debianShippedConfig,
        containerdBin: dirname(build.containerd),
      });
      const original = readFileSync(node.configPath, 'utf8');
      const { report } = await installer(node, ['install', '--runtimes', 'wasmtime']);
      expect(report).toMatchObject({ ok: true, restarted: true });
      expect(report.runtimes[0]?.verified).toBe(true);
      const now = await handlers(node);
      expect(now.get('runc')).toBe('io.containerd.runc.v2');
      expect(now.get('wasmtime')).toBe('io.containerd.wasmtime.v1');
      const removed = await installer(node, ['uninstall']);
      expect(removed.report).toMatchObject({
        ok: true,
        runtimes: [{ name: 'wasmtime', verified: true }],
      });
      expect(readFileSync(node.configPath, 'utf8')).toBe(original);
      expect((await handlers(node)).get('runc')).toBe('io.containerd.runc.v2');
    },
    300_000,
  );
});

describe('host paths resolve inside the host root, as from an installer pod', () => {
  it('a config behind an absolute symlink (NixOS-style) is read where the node reads it and refused, never replaced', async () => {
    node = await startSupervisedNode();
    const store = join(node.dir, 'store');
    mkdirSync(store);
    renameSync(node.configPath, join(store, 'containerd.toml'));
    symlinkSync(join(store, 'containerd.toml'), node.configPath);
    const original = readFileSync(node.configPath, 'utf8');
    const pid = node.containerdPid();
    const r = await installer(node, ['install', '--runtimes', 'wasmtime'], {
      pod: { hidden: [store] },
    });
    expect(r.report.error).toMatchObject({ code: 'config-symlinked', kind: 'refused' });
    expect(r.report.error?.message).toContain(`is a symlink to ${join(store, 'containerd.toml')}`);
    expect(lstatSync(node.configPath).isSymbolicLink()).toBe(true);
    await unchanged(node, original, pid);
  }, 240_000);

  it('a config below a symlinked directory (a moved /var/lib/rancher) is edited where it lives', async () => {
    node = await startSupervisedNode();
    const etc = join(node.dir, 'etc');
    const moved = join(node.dir, 'data/etc');
    mkdirSync(dirname(moved));
    renameSync(etc, moved);
    symlinkSync(moved, etc);
    const original = readFileSync(node.configPath, 'utf8');
    const pod = { hidden: [dirname(moved)] };
    const { report } = await installer(node, ['install', '--runtimes', 'wasmtime'], { pod });
    expect(report).toMatchObject({ ok: true, runtimes: [{ name: 'wasmtime', verified: true }] });
    expect(lstatSync(etc).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(moved, 'containerd/config.toml'), 'utf8')).toContain(
      '# BEGIN wasm-node-operator',
    );
    const removed = await installer(node, ['uninstall'], { pod });
    expect(removed.report.ok).toBe(true);
    expect(readFileSync(node.configPath, 'utf8')).toBe(original);
  }, 300_000);
});

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
    node = await startSupervisedNode();
    const n = node;
    const pod = `/wasm-node-installer-test-${process.pid}-${Date.now()}`;
    mkdirSync(`${hierarchy}${pod}`);
    try {
      const forked = join(n.dir, 'run/forked.pid');
      // Stops the supervised containerd for good, then starts one as its own child.
      const forking = restartScript(
        n,
        'forking-restart',
        `#!/bin/sh\nkill -TERM "$(cat ${n.dir}/run/containerd-supervisor.pid)"\nwhile [ -e ${n.dir}/run/containerd.pid ]; do sleep 0.1; done\nsetsid containerd --config ${n.configPath} >> ${n.dir}/log/containerd.log 2>&1 < /dev/null &\necho $! > ${forked}\n`,
      );
      const { report } = await installer(n, ['install', '--runtimes', 'wasmtime'], {
        restartCommand: forking,
        cgroups: [`${hierarchy}${pod}/cgroup.procs`],
      });
      expect(report).toMatchObject({ ok: true, restarted: true });
      expect(cgroupOf(Number(readFileSync(forked, 'utf8')))).toBe(cgroupOf(1));
    } finally {
      await n.stop();
      node = undefined;
      rmdirSync(`${hierarchy}${pod}`);
    }
  }, 240_000);
});

describe('file modes and owners', () => {
  it('a 0600 config of another owner keeps its mode and owner, and so does its backup', async () => {
    node = await startSupervisedNode();
    chmodSync(node.configPath, 0o600);
    chownSync(node.configPath, 4321, 4321);
    const { report } = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(report.ok).toBe(true);
    for (const file of [node.configPath, `${node.configPath}.wasm-node.bak`]) {
      const st = statSync(file);
      expect({ file, mode: st.mode & 0o777, uid: st.uid, gid: st.gid }).toEqual({
        file,
        mode: 0o600,
        uid: 4321,
        gid: 4321,
      });
    }
  }, 300_000);
});

describe('containerd 2.x with a version 3 config', () => {
  it('installs into the v3 runtime plugin, verifies through CRI, and uninstalls byte for byte', async () => {
    const v2 = containerdBuilds().find((b) => b.major === 2) as ContainerdBuild;
    node = await startSupervisedNode({
      config: nodeConfigV3,
      containerdBin: dirname(v2.containerd),
    });
    const original = readFileSync(node.configPath, 'utf8');
    const { report } = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(report).toMatchObject({
      ok: true,
      restarted: true,
      runtimes: [{ name: 'wasmtime', verified: true }],
    });
    expect(readFileSync(node.configPath, 'utf8')).toContain(
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.wasmtime]',
    );
    expect((await handlers(node)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
    const removed = await installer(node, ['uninstall']);
    expect(removed.report.ok).toBe(true);
    expect(readFileSync(node.configPath, 'utf8')).toBe(original);
  }, 300_000);
});

describe('faults leave the node as it was', () => {
  it('malformed config: refused with invalid-toml, nothing written, no restart', async () => {
    node = await startSupervisedNode();
    const pid = node.containerdPid();
    // containerd already runs; the file on disk is then broken behind its back.
    const broken = `${readFileSync(node.configPath, 'utf8')}[plugins\n`;
    writeFileSync(node.configPath, broken);
    const r = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(r.code).toBe(1);
    expect(r.report.error?.code).toBe('invalid-toml');
    await unchanged(node, broken, pid);
  }, 120_000);

  it('unknown runtime name: usage refused before touching the node', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const r = await runCommand(
      process.execPath,
      [INSTALLER_CLI, 'install', '--runtimes', 'wasmtim', '--host-root', '/'],
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown runtime "wasmtim"; known runtimes: wasmtime/);
    await unchanged(node, original, node.containerdPid());
  }, 120_000);

  it('checksum mismatch: refused with checksum-mismatch, no binary copied', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const pid = node.containerdPid();
    const r = await installer(node, ['install', '--runtimes', 'wasmtime'], {
      shimsDir: shimsDir('corrupt', true),
    });
    expect(r.code).toBe(1);
    expect(r.report.error).toMatchObject({ code: 'checksum-mismatch', kind: 'failed' });
    expect(r.report.error?.message).toMatch(/manifest says [0-9a-f]{64}/);
    await unchanged(node, original, pid);
  }, 120_000);

  it('containerd rejecting the new config: the drop-in that hides our handler is caught before the swap', async () => {
    // On containerd 1.x an import replaces the whole CRI plugin table, silently dropping runtimes
    // of the main file: the node's own `config dump` shows it, so nothing is written.
    node = await startSupervisedNode();
    const dropIn = join(node.dir, 'etc/containerd/cri.toml');
    writeFileSync(
      dropIn,
      'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n',
    );
    const original = `imports = ["${dropIn}"]\n${readFileSync(node.configPath, 'utf8')}`;
    writeFileSync(node.configPath, original);
    const r = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(r.report.error?.code).toBe('config-rejected');
    expect(r.report.error?.message).toMatch(/handler "wasmtime" as missing/);
    await unchanged(node, original, node.containerdPid());
  }, 120_000);

  it('restart failing after the swap: original bytes restored, containerd running again', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const marker = join(node.dir, 'restart-failed-once');
    // A service manager that fails the first restart (and leaves containerd stopped), then works.
    const flaky = restartScript(
      node,
      'flaky-restart',
      `#!/bin/sh\nif [ ! -e ${marker} ]; then touch ${marker}; kill -TERM "$(cat ${node.dir}/run/containerd.pid)"; echo "unit failed" >&2; exit 1; fi\nexec ${node.restartCommand}\n`,
    );
    const r = await installer(node, ['install', '--runtimes', 'wasmtime'], {
      restartCommand: flaky,
    });
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({
      ok: false,
      rolledBack: true,
      error: { code: 'restart-failed' },
    });
    expect(readFileSync(node.configPath, 'utf8')).toBe(original);
    expect((await handlers(node)).has('wasmtime')).toBe(false);
    expect(binaries(node)).toEqual([]);
  }, 240_000);

  it('restart command failing without stopping containerd: restored at once, never restarted, rolledBack', async () => {
    // As `rc-service` on a systemd node: the service manager refuses, containerd runs on. It
    // never read the new config, so there is no new PID to wait for, only the file to restore.
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const pid = node.containerdPid();
    const refusing = restartScript(
      node,
      'refusing-restart',
      '#!/bin/sh\necho "rc-service: service containerd does not exist" >&2\nexit 1\n',
    );
    const r = await installer(node, ['install', '--runtimes', 'wasmtime'], {
      restartCommand: refusing,
    });
    expect(r.report).toMatchObject({
      ok: false,
      changed: false,
      restarted: false,
      rolledBack: true,
      error: { code: 'restart-failed' },
    });
    expect(r.report.error?.message).toMatch(
      /does not exist.*previous config is restored and containerd \(pid \d+\) never restarted/,
    );
    await unchanged(node, original, pid);
  }, 240_000);

  it('SIGTERM while containerd restarts: the installer finishes the change and verifies it', async () => {
    node = await startSupervisedNode();
    const restarting = join(node.dir, 'restarting');
    const gate = join(node.dir, 'gate');
    const held = restartScript(
      node,
      'held-restart',
      `#!/bin/sh\ntouch ${restarting}\nwhile [ ! -e ${gate} ]; do sleep 0.1; done\nexec ${node.restartCommand}\n`,
    );
    const run = startInstaller(node, ['install', '--runtimes', 'wasmtime'], {
      shimsDir: shims,
      restartCommand: held,
      terminationLog: join(node.dir, 'tl-sigterm'),
    });
    await waitFor('the restart to begin', () => existsSync(restarting), { timeoutMs: 60_000 });
    process.kill(run.pid, 'SIGTERM');
    await waitFor('the installer to take the SIGTERM', () => run.log().includes('SIGTERM'), {
      timeoutMs: 30_000,
      diagnostics: () => run.log(),
    });
    writeFileSync(gate, '');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ ok: true, restarted: true, runtimes: [{ verified: true }] });
    expect((await handlers(node)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
  }, 240_000);

  it('SIGTERM while waiting for the host lock: reported as interrupted, nothing changed', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const pid = node.containerdPid();
    // Held by this (live) test process for as long as it takes the installer to see it.
    await withHostLock(async () => {
      const run = startInstaller(node!, ['install', '--runtimes', 'wasmtime'], {
        shimsDir: shims,
        terminationLog: join(node!.dir, 'tl-locked'),
      });
      await waitFor(
        'the installer to wait',
        () => run.log().includes('waiting for the host lock'),
        {
          timeoutMs: 60_000,
          diagnostics: () => run.log(),
        },
      );
      process.kill(run.pid, 'SIGTERM');
      const r = await run.done;
      expect(r.code).toBe(1);
      expect(r.report).toMatchObject({
        ok: false,
        changed: false,
        error: { code: 'interrupted', kind: 'failed' },
      });
    });
    await unchanged(node, original, pid);
  }, 240_000);

  it('installer killed after the swap, then re-run: converges and verifies', async () => {
    node = await startSupervisedNode();
    const hang = join(node.dir, 'bin/hanging-restart');
    const restarting = join(node.dir, 'restart-started');
    // No exec: the script keeps its path in its command line, so pkill -f finds it below.
    writeFileSync(hang, `#!/bin/sh\ntouch ${restarting}\nsleep 600\n`, { mode: 0o755 });
    const [cmd, ...argv] = installerCommand(node, ['install', '--runtimes', 'wasmtime'], {
      shimsDir: shims,
      restartCommand: hang,
      terminationLog: join(node.dir, 'tl-killed'),
    });
    const child = spawn(cmd as string, argv, { stdio: 'ignore' });
    // Killed while it waits for the restart (the restart starts only after the swap): the new
    // config is in place, containerd not restarted.
    const deadline = Date.now() + 60_000;
    while (!existsSync(restarting)) {
      if (Date.now() > deadline) throw new Error('installer never reached the restart');
      await sleep(100);
    }
    expect(readFileSync(node.configPath, 'utf8')).toContain('# BEGIN wasm-node-operator');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    execFileSync('pkill', ['-f', hang]);
    const rerun = await installer(node, ['install', '--runtimes', 'wasmtime']);
    expect(rerun.report).toMatchObject({ ok: true, restarted: true });
    expect(rerun.report.runtimes[0]?.verified).toBe(true);
    expect((await handlers(node)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
  }, 240_000);

  it('read-only bin dir: refused with bin-dir-not-writable, config untouched', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const ro = join(node.dir, 'ro-opt');
    mkdirSync(ro);
    execFileSync('mount', ['--bind', ro, ro]);
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
    try {
      const r = await installer(node, ['install', '--runtimes', 'wasmtime'], {
        binDir: join(ro, 'bin'),
      });
      expect(r.report.error).toMatchObject({ code: 'bin-dir-not-writable', kind: 'refused' });
      expect(readFileSync(node.configPath, 'utf8')).toBe(original);
    } finally {
      execFileSync('umount', [ro]);
    }
  }, 120_000);

  it('two installers whose critical sections would overlap: the second waits on the host lock', async () => {
    node = await startSupervisedNode();
    const original = readFileSync(node.configPath, 'utf8');
    const events = join(node.dir, 'restarts.log');
    const gate = join(node.dir, 'gate');
    // Each restart notes when it starts and ends, and starts only once the gate is open.
    const gated = restartScript(
      node,
      'gated-restart',
      `#!/bin/sh\necho "begin $1" >> ${events}\nwhile [ ! -e ${gate} ]; do sleep 0.1; done\n${node.restartCommand}\nrc=$?\necho "end $1" >> ${events}\nexit $rc\n`,
    );
    const started = (name: string, args: string[]) =>
      startInstaller(node!, args, {
        shimsDir: shims,
        restartCommand: `${gated} ${name}`,
        terminationLog: join(node!.dir, `tl-${name}`),
      });
    const log = () => (existsSync(events) ? readFileSync(events, 'utf8') : '');
    const a = started('A', ['install', '--runtimes', 'wasmtime']);
    // A has swapped the config in and is restarting: its critical section is open.
    await waitFor('installer A to restart', () => log().includes('begin A'), {
      timeoutMs: 60_000,
    });
    const b = started('B', ['uninstall']);
    await waitFor(
      'installer B to wait for the lock',
      () => b.log().includes('waiting for the host lock'),
      {
        timeoutMs: 60_000,
        diagnostics: () => b.log(),
      },
    );
    writeFileSync(gate, '');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect([ra.report, rb.report]).toMatchObject([
      { ok: true, operation: 'install', changed: true },
      { ok: true, operation: 'uninstall', changed: true },
    ]);
    expect(log().trim().split('\n')).toEqual(['begin A', 'end A', 'begin B', 'end B']);
    expect(readFileSync(node.configPath, 'utf8')).toBe(original);
  }, 240_000);
});
