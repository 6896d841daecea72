import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  killAndWait,
  listProcesses,
  processesReferencing,
  unmountBelow,
  withDescendants,
} from './host-processes.ts';
import { runCommand } from './run-command.ts';

const CLUSTER = fileURLToPath(new URL('../../e2e/cluster/', import.meta.url));

/**
 * A node's containerd as the installer meets it in production: a daemon kept running by a
 * supervisor (the cluster's stand-in for systemd's Restart=always), with its config at a host
 * path and a restart command that goes through the supervisor. Everything lives in one temp
 * dir laid out like the cluster's work dir.
 */
export interface SupervisedNode {
  dir: string;
  configPath: string;
  socket: string;
  binDir: string;
  restartCommand: string;
  containerdPid(): number | undefined;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

export function nodeConfig(dir: string): string {
  return `version = 2
root = "${dir}/var/lib/containerd"
state = "${dir}/run/containerd/state"
[grpc]
  address = "${dir}/run/containerd/containerd.sock"
[ttrpc]
  address = "${dir}/run/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/etc/cni/net.d"
`;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  tail: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; log tail:\n${tail()}`);
    await sleep(100);
  }
}

export async function startSupervisedNode(
  opts: {
    config?: (dir: string) => string;
    /** Directory of the containerd release to supervise (default: containerd on PATH, Debian's). */
    containerdBin?: string;
  } = {},
): Promise<SupervisedNode> {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-node-'));
  for (const d of ['bin', 'etc/containerd', 'run/containerd', 'log', 'opt'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(join(CLUSTER, 'containerd-supervisor.sh'), join(dir, 'bin/containerd-supervisor'));
  copyFileSync(join(CLUSTER, 'restart-containerd.sh'), join(dir, 'bin/restart-containerd'));
  const configPath = join(dir, 'etc/containerd/config.toml');
  writeFileSync(configPath, (opts.config ?? nodeConfig)(dir));
  const socket = join(dir, 'run/containerd/containerd.sock');
  const logPath = join(dir, 'log/containerd.log');
  const logTail = (lines = 40) => {
    try {
      return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  const supervisor = spawn('bash', [join(dir, 'bin/containerd-supervisor')], {
    detached: true,
    stdio: 'ignore',
    env: opts.containerdBin
      ? { ...process.env, CONTAINERD: `${opts.containerdBin}/containerd` }
      : process.env,
  });
  supervisor.unref();
  writeFileSync(join(dir, 'run/containerd-supervisor.pid'), String(supervisor.pid));
  const containerdPid = () => {
    try {
      return Number(readFileSync(join(dir, 'run/containerd.pid'), 'utf8')) || undefined;
    } catch {
      return undefined;
    }
  };
  const up = async () =>
    (await runCommand('ctr', ['--address', socket, 'version'], { timeoutMs: 5_000 })).code === 0;
  await waitFor(`containerd on ${socket}`, up, 30_000, logTail);
  return {
    dir,
    configPath,
    socket,
    binDir: join(dir, 'opt/wasm-node/bin'),
    restartCommand: join(dir, 'bin/restart-containerd'),
    containerdPid,
    logTail,
    stop: async () => {
      const ours = await processesReferencing(dir);
      await killAndWait([supervisor.pid as number], 'SIGTERM', 15_000);
      await killAndWait(withDescendants(ours, await listProcesses()), 'SIGKILL', 5_000);
      await unmountBelow(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
