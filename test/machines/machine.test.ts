import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mountsUnder } from '../support/mounts.ts';
import {
  bootMachine,
  nodeAndRepoBinds,
  type ContainerdSource,
  type Machine,
  type Suite,
} from '../support/machines.ts';

// The machines other tests run the installer and the cluster's kubelets on: systemd as PID 1
// started as /sbin/init, and containerd as its distribution (or upstream's install guide)
// leaves it. Each case boots its own machine and destroys it.
const MACHINE_MS = 20 * 60_000;
const booted: Machine[] = [];

afterAll(async () => {
  for (const m of booted.splice(0)) await m.stop();
}, 5 * 60_000);

async function boot(suite: Suite, containerd: ContainerdSource = 'distro', pods = false) {
  const machine = await bootMachine({ suite, containerd, pods });
  booted.push(machine);
  return machine;
}

/** The file as the rootfs ships it (the overlay's lower layer). */
function shipped(machine: Machine, file: string): Buffer {
  const env = readFileSync(path.join(machine.dir, 'machine.env'), 'utf8');
  const rootfs = /^ROOTFS=(.*)$/m.exec(env)?.[1] ?? '';
  return readFileSync(path.join(rootfs, file));
}

/** containerd.service's main PID and the journal lines of its (re)starts. */
async function containerdMainPid(machine: Machine): Promise<number> {
  return Number((await machine.sh('systemctl show -P MainPID containerd')).trim());
}

describe.each([
  ['bookworm', 'distro', /^containerd .* 1\.6\.20~/],
  ['trixie', 'distro', /^containerd .* 1\.7\.24~/],
  ['sid', 'distro', /^containerd .* 2\.1\./],
  ['trixie', 'v2.4.2', /^containerd .* v2\.4\.2 /],
] as const)('a %s machine with containerd %s', (suite, containerd, version) => {
  let machine: Machine;

  it(
    'boots systemd as /sbin/init with containerd.service as the package or the guide leaves it',
    async () => {
      machine = await boot(suite, containerd);
      expect(await machine.sh('tr "\\0" " " < /proc/1/cmdline')).toBe('/sbin/init ');
      expect((await machine.sh('systemctl is-active containerd')).trim()).toBe('active');
      expect(await machine.sh('containerd --version')).toMatch(version);
      const config = Buffer.from(await machine.sh('cat /etc/containerd/config.toml'));
      if (containerd === 'distro') {
        expect(config.equals(shipped(machine, 'etc/containerd/config.toml'))).toBe(true);
        expect(config.toString()).not.toMatch(/runtimes/);
        expect(await machine.sh('systemctl show -P FragmentPath containerd')).toMatch(
          /^\/(usr\/)?lib\/systemd\/system\/containerd\.service$/m,
        );
      } else {
        expect(config.toString()).toBe(
          await machine.sh('/usr/local/bin/containerd config default'),
        );
        expect((await machine.sh('systemctl show -P FragmentPath containerd')).trim()).toBe(
          '/usr/local/lib/systemd/system/containerd.service',
        );
      }
    },
    MACHINE_MS,
  );

  it('restarts containerd through systemd: a new main PID, stop and start in the journal', async () => {
    const before = await containerdMainPid(machine);
    const since = Date.now() * 1000;
    await machine.sh('systemctl restart containerd');
    expect(await containerdMainPid(machine)).not.toBe(before);
    const lines = (await machine.journal('containerd.service'))
      .filter((e) => e.realtimeUs >= since && e.pid === 1)
      .map((e) => e.message);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Stopping /),
        expect.stringMatching(/^Started /),
      ]),
    );
  });
});

describe('machine lifecycle', () => {
  it(
    'reboots with a fresh boot_id and containerd running again, and stop leaves nothing behind',
    async () => {
      const machine = await boot('bookworm', 'distro', true);
      const bootId = await machine.bootId();
      await machine.reboot();
      expect(await machine.bootId()).not.toBe(bootId);
      expect((await machine.sh('systemctl is-active containerd')).trim()).toBe('active');
      expect(machine.memoryBytes()).toBeGreaterThan(10 * 1024 * 1024);

      booted.splice(booted.indexOf(machine), 1);
      await machine.stop();
      expect(existsSync(machine.dir)).toBe(false);
      expect(mountsUnder(machine.dir)).toEqual([]);
      const cgroups = ['memory', 'pids', 'systemd', 'unified'].map(
        (h) => `/sys/fs/cgroup/${h}/nspawn/${machine.name}`,
      );
      expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
    },
    MACHINE_MS,
  );

  it(
    'runs pods only with the one commented deviation from the shipped config',
    async () => {
      const machine = await boot('bookworm', 'distro', true);
      const ours = (await machine.sh('cat /etc/containerd/config.toml')).split('\n');
      const theirs = shipped(machine, 'etc/containerd/config.toml').toString().split('\n');
      const added = ours.filter((line) => !theirs.includes(line)).map((l) => l.trim());
      expect(added).toEqual([
        expect.stringMatching(/^# .*CAP_SYS_RESOURCE/),
        'restrict_oom_score_adj = true',
      ]);
      expect(ours.filter((line) => theirs.includes(line))).toEqual(theirs);
      expect(await machine.sh('containerd config dump')).toMatch(/restrict_oom_score_adj = true/);
    },
    MACHINE_MS,
  );

  it(
    "runs this repository's code with Node 24 through read-only binds",
    async () => {
      const machine = await bootMachine({ suite: 'trixie', binds: await nodeAndRepoBinds() });
      booted.push(machine);
      expect((await machine.sh('/opt/node/bin/node --version')).trim()).toMatch(/^v24\./);
      const usage = await machine.exec(['/opt/node/bin/node', '/repo/bin/wasm-node-installer.js']);
      expect(usage.stdout + usage.stderr).toMatch(/^usage: wasm-node-installer/m);
      const write = await machine.exec(['touch', '/repo/should-not-exist']);
      expect(write.code).not.toBe(0);
    },
    MACHINE_MS,
  );
});
