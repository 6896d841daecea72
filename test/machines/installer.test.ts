import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeShimsDir } from '../support/installer-cli.ts';
import {
  bootInstallerMachine,
  containerdDropIn,
  containerdPid,
  installerIn,
  machineHandlers,
  startInstallerIn,
} from '../support/machine-installer.ts';
import type { ContainerdSource, Machine, Suite } from '../support/machines.ts';
import { repoPath } from '../support/repo.ts';
import { waitFor } from '../support/wait.ts';

// The installer on nodes as users run them: systemd as PID 1 started as /sbin/init, containerd
// as its distribution's package (or an upstream release's install guide) leaves it. No
// --restart-command: the installer finds systemd and containerd.service on its own.
const MACHINE_MS = 20 * 60_000;
const scratch = mkdtempSync(join(tmpdir(), 'machine-installer-'));
let shims: Record<string, string> = {};
let helloImage = '';
let machine: Machine | undefined;

beforeAll(() => {
  const build = (script: string) =>
    execFileSync('bash', [repoPath(script)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  const shim = build('e2e/tools/build-wasm-shim.sh');
  helloImage = build('e2e/wasm/build-hello-image.sh');
  const dir = (name: string, corrupt = false) =>
    writeShimsDir(join(scratch, name), shim, { version: '0.1.0-test', corrupt });
  shims = { good: dir('good'), corrupt: dir('corrupt', true) };
}, 1_800_000);
afterEach(async () => {
  await machine?.stop();
  machine = undefined;
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const boot = async (suite: Suite, containerd: ContainerdSource = 'distro', pods = false) => {
  machine = await bootInstallerMachine({ suite, containerd, pods, name: `inst-${suite}` }, shims);
  return machine;
};
const config = (m: Machine) => m.sh('cat /etc/containerd/config.toml');

// The CRI plugin each file keeps its runtimes under: Debian's and 1.7's default are version 2,
// 2.x's defaults version 3 or later, whose runtimes moved to a plugin of their own.
const V2_CRI = 'io.containerd.grpc.v1.cri';
const V3_CRI = 'io.containerd.cri.v1.runtime';

describe.each([
  ['bookworm', 'distro', '1.6.20, the config Debian ships (no runtime declared)', V2_CRI],
  ['trixie', 'distro', '1.7.24, the config Debian ships', V2_CRI],
  ['sid', 'distro', '2.1.9, the config Debian ships', V2_CRI],
  ['trixie', 'v1.7.35', 'upstream 1.7.35, its config default (version 2)', V2_CRI],
  ['trixie', 'v2.2.9', 'upstream 2.2.9, its config default (version 3)', V3_CRI],
  ['trixie', 'v2.4.2', 'upstream 2.4.2, its config default (version 4)', V3_CRI],
] as const)('a %s machine, containerd %s: %s', (suite, containerd, _about, plugin) => {
  it(
    'install restarts containerd.service through systemd and verifies; a re-run changes nothing; drift is repaired; uninstall restores the bytes',
    async () => {
      const m = await boot(suite, containerd);
      const original = await config(m);
      const pid0 = await containerdPid(m);

      const first = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(first.report).toMatchObject({
        ok: true,
        operation: 'install',
        flavour: 'containerd',
        changed: true,
        restarted: true,
        bootId: await m.bootId(),
        runtimes: [{ name: 'wasmtime', verified: true, version: '0.1.0-test' }],
      });
      const pid1 = await containerdPid(m);
      expect(pid1).not.toBe(pid0);
      const handlers = await machineHandlers(m);
      expect(handlers.get('wasmtime')).toBe('io.containerd.wasmtime.v1');
      expect(handlers.get('runc')).toBe('io.containerd.runc.v2');
      const patched = await config(m);
      expect(patched.startsWith(original)).toBe(true);
      expect(patched).toContain(`[plugins."${plugin}".containerd.runtimes.wasmtime]`);
      expect(await m.sh('cat /etc/containerd/config.toml.wasm-node.bak')).toBe(original);

      const again = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(again.report).toMatchObject({ ok: true, changed: false, restarted: false });
      expect(await containerdPid(m)).toBe(pid1);

      // Drift: the file rewritten without our block, as a bootstrap agent does at boot.
      await m.sh(
        'cp /etc/containerd/config.toml.wasm-node.bak /etc/containerd/config.toml && systemctl restart containerd',
      );
      expect((await machineHandlers(m)).has('wasmtime')).toBe(false);
      const repaired = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(repaired.report).toMatchObject({
        ok: true,
        changed: true,
        restarted: true,
        runtimes: [{ name: 'wasmtime', verified: true }],
      });
      expect(await config(m)).toBe(patched);

      const removed = await installerIn(m, ['uninstall']);
      expect(removed.report).toMatchObject({
        ok: true,
        changed: true,
        restarted: true,
        runtimes: [{ name: 'wasmtime', verified: true }],
      });
      expect(await config(m)).toBe(original);
      expect((await machineHandlers(m)).has('wasmtime')).toBe(false);
      expect((await m.sh('ls -A /opt/wasm-node/bin')).trim()).toBe('');
    },
    MACHINE_MS,
  );
});

describe('the installed shim on a Debian 13 machine that runs containers', () => {
  it(
    'runs a WASI module: ctr run with the installed binary prints the greeting',
    async () => {
      const m = await boot('trixie', 'distro', true);
      const { report } = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      const shim = report.runtimes[0]?.path as string;
      await m.importImages([helloImage]);
      // An absolute runtime is the binary itself: the same file the config's runtime_path names.
      const run = await m.exec(
        [
          'ctr',
          '-n',
          'k8s.io',
          'run',
          '--rm',
          '--runtime',
          shim,
          'localhost/wasm-hello:v1',
          'hello',
        ],
        { timeoutMs: 120_000 },
      );
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain('Hello from WebAssembly');
      expect(run.code).toBe(0);
    },
    MACHINE_MS,
  );
});

/** The node as it was: same bytes, the same containerd process, no binaries, no handler. */
async function unchanged(m: Machine, original: string, pid: number) {
  expect(await config(m)).toBe(original);
  expect(await containerdPid(m)).toBe(pid);
  expect((await m.sh('ls -A /opt/wasm-node/bin 2>/dev/null || true')).trim()).toBe('');
  expect((await machineHandlers(m)).has('wasmtime')).toBe(false);
}

/** A Debian 12 machine and what a fault must leave as it is. */
async function debianNode() {
  const m = await boot('bookworm');
  return { m, original: await config(m), pid: await containerdPid(m) };
}

describe('faults on a Debian 12 machine leave the node as it was', () => {
  it(
    'malformed config: refused with invalid-toml, nothing written, no restart',
    async () => {
      const { m, pid } = await debianNode();
      // containerd already runs; the file on disk is then broken behind its back.
      await m.sh('printf "[plugins\\n" >> /etc/containerd/config.toml');
      const broken = await config(m);
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(r.code).toBe(1);
      expect(r.report.error).toMatchObject({ code: 'invalid-toml', kind: 'refused' });
      await unchanged(m, broken, pid);
    },
    MACHINE_MS,
  );

  it(
    'unknown runtime name or corrupt image: refused before the node changes',
    async () => {
      const { m, original, pid } = await debianNode();
      const unknown = await m.exec([
        '/opt/node/bin/node',
        '/repo/bin/wasm-node-installer.js',
        'install',
        '--runtimes',
        'wasmtim',
      ]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/unknown runtime "wasmtim"; known runtimes: wasmtime/);
      const corrupt = await installerIn(m, ['install', '--runtimes', 'wasmtime'], {
        shims: 'corrupt',
      });
      expect(corrupt.report.error).toMatchObject({ code: 'checksum-mismatch', kind: 'failed' });
      expect(corrupt.report.error?.message).toMatch(/manifest says [0-9a-f]{64}/);
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );

  it(
    'containerd rejecting the new config: a drop-in that hides our handler is caught before the swap',
    async () => {
      // containerd 1.x replaces the whole CRI plugin table with an imported one, runc and ours
      // included: the node's own `config dump` shows it, so nothing is written.
      const { m, pid } = await debianNode();
      await m.sh(
        `printf 'version = 2\\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\\n  runtime_type = "io.containerd.runc.v2"\\n' > /etc/containerd/cri.toml
         sed -i '1i imports = ["/etc/containerd/cri.toml"]' /etc/containerd/config.toml`,
      );
      const original = await config(m);
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(r.report.error?.code).toBe('config-rejected');
      expect(r.report.error?.message).toMatch(/handler "wasmtime" as missing/);
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );

  it(
    'read-only bin dir: refused with bin-dir-not-writable, config untouched',
    async () => {
      const { m, original, pid } = await debianNode();
      await m.sh(
        'mkdir -p /opt/ro && mount --bind /opt/ro /opt/ro && mount -o remount,bind,ro /opt/ro',
      );
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime'], {
        extra: ['--bin-dir', '/opt/ro/bin'],
      });
      expect(r.report.error).toMatchObject({ code: 'bin-dir-not-writable', kind: 'refused' });
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );
});

/** containerd.service waits in ExecStartPre until /run/gate exists; its starts are logged. */
const GATED = `[Service]
ExecStartPre=/bin/sh -c 'echo begin >> /run/restarts.log; while [ ! -e /run/gate ]; do sleep 0.1; done'
ExecStartPost=/bin/sh -c 'echo end >> /run/restarts.log'`;
const restarts = async (m: Machine) =>
  (await m.sh('cat /run/restarts.log 2>/dev/null || true')).trim().split('\n').filter(Boolean);
/** Until systemd is starting containerd again: the new config is in place, not yet read. */
const restartBegun = (m: Machine) =>
  waitFor('the restart to begin', async () => (await restarts(m)).includes('begin'), {
    timeoutMs: 120_000,
  });

describe('restarts through systemd that fail, hang or are interrupted', () => {
  // Each containerd line under its own unit (Debian's, or upstream's in /usr/local/lib).
  it.each([
    ['bookworm', 'distro'],
    ['trixie', 'distro'],
    ['trixie', 'v2.4.2'],
  ] as const)(
    'a %s machine, containerd %s: containerd.service failing to start on the new config gets the old bytes back and runs on them',
    async (suite, containerd) => {
      const m = await boot(suite, containerd);
      const original = await config(m);
      // As a unit whose start fails with our block in the config (a bad shim path, say).
      await containerdDropIn(
        m,
        'refuse-our-block',
        `[Service]\nExecStartPre=/bin/sh -c '! grep -q "wasm-node-operator managed block" /etc/containerd/config.toml'`,
      );
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(r.code).toBe(1);
      expect(r.report).toMatchObject({
        ok: false,
        rolledBack: true,
        restarted: true,
        error: { code: 'restart-failed' },
      });
      expect(r.report.error?.message).toMatch(/systemctl restart containerd failed/);
      expect(await config(m)).toBe(original);
      expect((await m.sh('systemctl is-active containerd')).trim()).toBe('active');
      expect((await machineHandlers(m)).get('runc')).toBe('io.containerd.runc.v2');
      expect((await m.sh('ls -A /opt/wasm-node/bin')).trim()).toBe('');
    },
    MACHINE_MS,
  );

  it(
    'systemd refusing the restart: restored at once, containerd never restarted, rolledBack',
    async () => {
      const { m, original, pid } = await debianNode();
      await containerdDropIn(
        m,
        'refuse-manual',
        '[Unit]\nRefuseManualStart=yes\nRefuseManualStop=yes',
      );
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(r.report).toMatchObject({
        ok: false,
        changed: false,
        restarted: false,
        rolledBack: true,
        error: { code: 'restart-failed' },
      });
      // systemctl's own reason, then what the installer did about it.
      expect(r.report.error?.message).toMatch(
        /Operation refused.*previous config is restored and containerd \(pid \d+\) never restarted/s,
      );
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );

  it(
    'installer killed while systemd restarts containerd, then re-run: converges and verifies',
    async () => {
      const { m } = await debianNode();
      await containerdDropIn(m, 'gate', GATED);
      const run = startInstallerIn(m, ['install', '--runtimes', 'wasmtime']);
      await restartBegun(m);
      // The new config is in place, containerd not yet started on it.
      expect(await config(m)).toContain('# BEGIN wasm-node-operator');
      await run.signal('KILL');
      await expect(run.done).rejects.toThrow(/termination message is not JSON/);
      await m.sh('touch /run/gate');
      const rerun = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(rerun.report).toMatchObject({ ok: true, runtimes: [{ verified: true }] });
      expect((await machineHandlers(m)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
    },
    MACHINE_MS,
  );

  it(
    'SIGTERM while systemd restarts containerd: the installer finishes the change and verifies it',
    async () => {
      const { m } = await debianNode();
      await containerdDropIn(m, 'gate', GATED);
      const run = startInstallerIn(m, ['install', '--runtimes', 'wasmtime']);
      await restartBegun(m);
      await run.signal('TERM');
      await run.logged('SIGTERM');
      await m.sh('touch /run/gate');
      const r = await run.done;
      expect(r.code).toBe(0);
      expect(r.report).toMatchObject({ ok: true, restarted: true, runtimes: [{ verified: true }] });
      expect((await machineHandlers(m)).get('wasmtime')).toBe('io.containerd.wasmtime.v1');
    },
    MACHINE_MS,
  );

  it(
    'SIGTERM while waiting for the host lock: reported as interrupted, nothing changed',
    async () => {
      const { m, original, pid } = await debianNode();
      // Another installer's lock: held by a live process (the machine's PID 1).
      await m.sh('echo 1 > /run/wasm-node-installer.lock');
      const run = startInstallerIn(m, ['install', '--runtimes', 'wasmtime']);
      await run.logged('waiting for the host lock');
      await run.signal('TERM');
      const r = await run.done;
      expect(r.code).toBe(1);
      expect(r.report).toMatchObject({
        ok: false,
        changed: false,
        error: { code: 'interrupted', kind: 'failed' },
      });
      await m.sh('rm /run/wasm-node-installer.lock');
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );

  it(
    'two installers whose critical sections would overlap: the second waits on the host lock',
    async () => {
      const { m, original } = await debianNode();
      await containerdDropIn(m, 'gate', GATED);
      const a = startInstallerIn(m, ['install', '--runtimes', 'wasmtime']);
      // A has swapped the config in and systemd is restarting containerd: A's critical section.
      await restartBegun(m);
      const b = startInstallerIn(m, ['uninstall']);
      await b.logged('waiting for the host lock');
      await m.sh('touch /run/gate');
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect([ra.report, rb.report]).toMatchObject([
        { ok: true, operation: 'install', changed: true },
        { ok: true, operation: 'uninstall', changed: true },
      ]);
      expect(await restarts(m)).toEqual(['begin', 'end', 'begin', 'end']);
      expect(await config(m)).toBe(original);
    },
    MACHINE_MS,
  );
});

describe('the node’s files as they are', () => {
  it(
    'a 0600 config of another owner keeps its mode and owner, and so does its backup',
    async () => {
      const { m } = await debianNode();
      await m.sh(
        'chmod 600 /etc/containerd/config.toml && chown 4321:4321 /etc/containerd/config.toml',
      );
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime']);
      expect(r.report.ok).toBe(true);
      const stat = await m.sh(
        'stat -c "%a %u %g" /etc/containerd/config.toml /etc/containerd/config.toml.wasm-node.bak',
      );
      expect(stat.trim().split('\n')).toEqual(['600 4321 4321', '600 4321 4321']);
    },
    MACHINE_MS,
  );

  // As from an installer pod: a mount namespace of its own, the node's / at a host root of its
  // own, and /srv (where the links lead) empty in its own view.
  const pod = {
    hostRoot: '/run/pod-host',
    wrap: `unshare --mount --propagation private -- sh -c 'mkdir -p /run/pod-host && mount --rbind / /run/pod-host && mount -t tmpfs pod-view /srv && exec "$@"' sh`,
  };

  it(
    'a config behind an absolute symlink (NixOS-style) is read where the node reads it and refused, never replaced',
    async () => {
      const { m, original, pid } = await debianNode();
      await m.sh(
        'mv /etc/containerd/config.toml /srv/containerd.toml && ln -s /srv/containerd.toml /etc/containerd/config.toml',
      );
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime'], pod);
      expect(r.report.error).toMatchObject({ code: 'config-symlinked', kind: 'refused' });
      expect(r.report.error?.message).toContain('is a symlink to /srv/containerd.toml');
      expect((await m.sh('readlink /etc/containerd/config.toml')).trim()).toBe(
        '/srv/containerd.toml',
      );
      await unchanged(m, original, pid);
    },
    MACHINE_MS,
  );

  it(
    'a config below a symlinked directory (a moved /etc/containerd) is edited where it lives',
    async () => {
      const { m, original } = await debianNode();
      await m.sh('mv /etc/containerd /srv/containerd && ln -s /srv/containerd /etc/containerd');
      const r = await installerIn(m, ['install', '--runtimes', 'wasmtime'], pod);
      expect(r.report).toMatchObject({
        ok: true,
        runtimes: [{ name: 'wasmtime', verified: true }],
      });
      expect((await m.sh('readlink /etc/containerd')).trim()).toBe('/srv/containerd');
      expect(await m.sh('cat /srv/containerd/config.toml')).toContain('# BEGIN wasm-node-operator');
      const removed = await installerIn(m, ['uninstall'], pod);
      expect(removed.report.ok).toBe(true);
      expect(await config(m)).toBe(original);
    },
    MACHINE_MS,
  );
});
