// systemd machines for tests (e2e/machines/README.md): a Debian rootfs booted by systemd-nspawn
// with /sbin/init as PID 1 and the distribution's containerd.service (or an upstream build
// installed as its guide says). Tests boot their own with bootMachine(); the cluster's nodes are
// reached with clusterMachine(). Every call goes through the e2e/machines scripts, which the
// cluster uses too.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoPath } from './repo.ts';
import { run, runCommand, type CommandResult, type RunOptions } from './run-command.ts';

export type Suite = 'bookworm' | 'trixie' | 'sid';
/** `distro`: the suite's containerd package; a version: that upstream release (e.g. v2.4.2). */
export type ContainerdSource = 'distro' | `v${number}.${number}.${number}`;

/** The upstream releases machines can run (e2e/tools/build-containerd.sh --release). */
export const UPSTREAM_CONTAINERD = ['v1.7.35', 'v2.2.9', 'v2.4.2'] as const;

export interface Bind {
  host: string;
  machine: string;
  readOnly?: boolean;
}

export interface MachineSpec {
  suite: Suite;
  containerd?: ContainerdSource;
  /**
   * The machine will run containers: its containerd config gets the one line this VM needs
   * (restrict_oom_score_adj, e2e/cluster/README.md) and its cgroup controllers are writable.
   * Leave it off to meet the config exactly as shipped.
   */
  pods?: boolean;
  binds?: readonly Bind[];
  /** Readable part of the name; a random suffix keeps concurrent tests apart. */
  name?: string;
}

export interface JournalEntry {
  /** Wall-clock time of the entry, in microseconds since the epoch (comparable across machines). */
  realtimeUs: number;
  bootId: string;
  message: string;
  /** The PID that logged it (systemd's own lines about a unit come from PID 1). */
  pid?: number;
}

/** Where tests' machines live; the cluster keeps its own in its work dir. */
export const TEST_MACHINES_DIR =
  process.env.WASM_NODE_MACHINES_DIR ?? '/var/lib/wasm-node-machines';

const script = (name: string) => repoPath(`e2e/machines/${name}.sh`);
// A cold machine builds its rootfs (a minute or two) and maybe an upstream containerd.
const CREATE_MS = 30 * 60_000;
const BOOT_S = 120;

/** A running machine. Methods act inside it through nsenter into its namespaces. */
export class Machine {
  readonly name: string;
  /** The directory that holds this machine (WASM_NODE_MACHINES_DIR of the scripts). */
  readonly machinesDir: string;
  readonly #owned: boolean;

  constructor(name: string, machinesDir: string, owned: boolean) {
    this.name = name;
    this.machinesDir = machinesDir;
    this.#owned = owned;
  }

  get dir(): string {
    return path.join(this.machinesDir, this.name);
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, WASM_NODE_MACHINES_DIR: this.machinesDir };
  }

  /**
   * Boots the machine unless it runs, and waits until systemd has finished booting it. Resolves
   * with the PID of its PID 1 as the host sees it (it changes on every boot).
   */
  async boot(): Promise<number> {
    const out = await run('bash', [script('boot'), this.name, String(BOOT_S)], {
      env: this.#env(),
      timeoutMs: (BOOT_S + 10) * 1000,
    });
    return Number(out.trim().split('\n').at(-1));
  }

  /** Runs argv inside the machine as root; never rejects on a non-zero exit. */
  exec(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    return runCommand('bash', [script('exec'), this.name, ...argv], {
      timeoutMs: 120_000,
      ...opts,
      env: this.#env(),
    });
  }

  /** Like exec, but the command must succeed: resolves with its stdout. */
  async sh(command: string, opts: RunOptions = {}): Promise<string> {
    const r = await this.exec(['/bin/sh', '-c', command], opts);
    if (r.code !== 0) {
      throw new Error(
        `${command} in machine ${this.name} failed (${r.code ?? r.signal}):\n${r.stderr}`,
      );
    }
    return r.stdout;
  }

  /** The unit's journal, every boot unless `currentBoot`. */
  async journal(unit: string, opts: { currentBoot?: boolean } = {}): Promise<JournalEntry[]> {
    const args = ['journalctl', '--no-pager', '-o', 'json', '-u', unit];
    const out = await this.sh(args.concat(opts.currentBoot ? ['-b'] : []).join(' '));
    return out
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .map((e) => ({
        realtimeUs: Number(e.__REALTIME_TIMESTAMP),
        bootId: String(e._BOOT_ID),
        message: typeof e.MESSAGE === 'string' ? e.MESSAGE : JSON.stringify(e.MESSAGE),
        pid: e._PID === undefined ? undefined : Number(e._PID),
      }));
  }

  /** The kernel's boot_id inside the machine: nspawn gives every boot a fresh one. */
  async bootId(): Promise<string> {
    return (await this.sh('cat /proc/sys/kernel/random/boot_id')).trim();
  }

  /**
   * Reboots as `machinectl reboot` does, by SIGINT to the machine's systemd (ctrl-alt-del.target,
   * a clean reboot); resolves once the machine has booted again. A `systemctl reboot` run inside
   * could outlive the shutdown as a process its host-side nsenter never reaped, and hold the
   * shutdown for its 90 s stop timeout (seen in CI).
   */
  async reboot(): Promise<void> {
    const before = await this.bootId();
    process.kill(await this.boot(), 'SIGINT');
    for (;;) {
      await this.boot();
      const now = await this.bootId().catch(() => before);
      if (now !== before) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Imports OCI image archives into the machine's containerd (k8s.io), with its own ctr. */
  async importImages(archives: readonly string[]): Promise<void> {
    await run('bash', [script('import-images'), this.name, ...archives], {
      env: this.#env(),
      timeoutMs: 10 * 60_000,
    });
  }

  /**
   * A path inside the running machine as the host reaches it (through its PID 1's root), e.g.
   * containerd's socket for a CRI client on the host.
   */
  async hostPath(inside: string): Promise<string> {
    const leader = (await run('bash', [script('status'), this.name], { env: this.#env() })).trim();
    return `/proc/${leader}/root${inside}`;
  }

  /** Memory charged to the machine's cgroup (everything in it, pods included), in bytes. */
  memoryBytes(): number {
    const file = `/sys/fs/cgroup/memory/nspawn/${this.name}/memory.usage_in_bytes`;
    return Number(readFileSync(file, 'utf8'));
  }

  /** Destroys the machine and everything it left on the host. Only for machines booted here. */
  async stop(): Promise<void> {
    if (!this.#owned)
      throw new Error(`machine ${this.name} belongs to the cluster: cluster:down removes it`);
    await run('bash', [script('destroy'), this.name], { env: this.#env(), timeoutMs: 120_000 });
  }
}

/** Start time of this process (field 22 of /proc/self/stat), so sweep.sh can tell it is alive. */
function ownerId(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return `${process.pid}:${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
}

let swept: Promise<string> | undefined;

/**
 * Creates and boots a machine of its own for this test; `stop()` it in afterAll. Machines of
 * a process that died without stopping them are removed by the next bootMachine().
 */
export async function bootMachine(spec: MachineSpec): Promise<Machine> {
  const env = { ...process.env, WASM_NODE_MACHINES_DIR: TEST_MACHINES_DIR };
  swept ??= run('bash', [script('sweep')], { env, timeoutMs: 5 * 60_000 });
  await swept;
  const prefix = spec.name ?? `t-${spec.suite}`;
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const args = [
    '--suite',
    spec.suite,
    '--containerd',
    spec.containerd ?? 'distro',
    '--owner',
    ownerId(),
  ];
  if (spec.pods) args.push('--pods');
  for (const b of spec.binds ?? [])
    args.push('--bind', `${b.host}:${b.machine}${b.readOnly ? ':ro' : ''}`);
  const machine = new Machine(name, TEST_MACHINES_DIR, true);
  try {
    await run('bash', [script('create'), name, ...args], { env, timeoutMs: CREATE_MS });
    await machine.boot();
  } catch (error) {
    await machine.stop().catch(() => undefined);
    throw error;
  }
  return machine;
}

/** A node of the local cluster (test/support/cluster.ts), to look inside; cluster:down removes it. */
export function clusterMachine(machinesDir: string, name: string): Machine {
  return new Machine(name, machinesDir, false);
}

/** Binds that let a machine run this repository's code: Node 24 at /opt/node, the repo at /repo. */
export async function nodeAndRepoBinds(): Promise<Bind[]> {
  const nodeBin = (await run('bash', [repoPath('scripts/ensure-node.sh')])).trim();
  return [
    { host: path.dirname(nodeBin), machine: '/opt/node', readOnly: true },
    { host: repoPath('.'), machine: '/repo', readOnly: true },
  ];
}
