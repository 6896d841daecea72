import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePorts } from '../test/support/ports.ts';
import { repoPath } from '../test/support/repo.ts';
import { waitFor } from '../test/support/wait.ts';
import { parsePrometheus, sumBy, type Sample } from './prometheus.ts';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

export interface ProcessUsage {
  /** utime + stime, seconds. */
  cpuSeconds: number;
  /** VmHWM: peak resident set size so far, MiB. */
  peakRssMiB: number;
  /** VmRSS: resident set size now, MiB. */
  rssMiB: number;
}

/** CPU and memory of a live process, from /proc (Linux only). */
export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    cpuSeconds: ticks / CLOCK_TICKS,
    peakRssMiB: kib('VmHWM') / 1024,
    rssMiB: kib('VmRSS') / 1024,
  };
}

export interface OperatorProcess {
  pid: number;
  usage(): ProcessUsage;
  /** The operator's own wasm_node_operator_api_requests_total samples. */
  apiRequests(): Promise<Sample[]>;
  /** Times the kernel's OOM killer fired in its memory cgroup (0 without a limit). */
  oomKills(): number;
  stop(): Promise<void>;
}

/**
 * `node src/operator/main.ts` as a child process, as it runs in its container, so /proc
 * figures are the operator's alone (the simulated kubelet runs in the bench process).
 */
export async function startOperatorProcess(opts: {
  workDir: string;
  kubeconfigPath: string;
  config: Record<string, unknown>;
  /** Runs the operator in a memory cgroup with this limit, as a container limit would. */
  memoryLimitMiB?: number;
}): Promise<OperatorProcess> {
  const [port] = (await freePorts(1)) as [number];
  const configPath = path.join(opts.workDir, 'operator-config.json');
  // YAML is a superset of JSON, so the config loader reads this file as is.
  await writeFile(
    configPath,
    JSON.stringify({ ...opts.config, server: { host: '127.0.0.1', port } }),
  );
  const logPath = path.join(opts.workDir, 'operator.log');
  const log = createWriteStream(logPath);
  const cgroup = opts.memoryLimitMiB ? memoryCgroup(opts.memoryLimitMiB) : undefined;
  const command = [
    process.execPath,
    repoPath('src/operator/main.ts'),
    '--config',
    configPath,
    '--kubeconfig',
    opts.kubeconfigPath,
    '--identity',
    'bench',
  ];
  // The shell joins the cgroup and then becomes the operator, so its pid is the operator's.
  const child: ChildProcess = cgroup
    ? spawn('sh', ['-c', `echo $$ > ${cgroup.procs} && exec "$0" "$@"`, ...command], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid as number;
  const base = `http://127.0.0.1:${port}`;
  const logTail = () => readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  await waitFor(
    'the operator to be ready (/readyz)',
    async () => (await fetch(`${base}/readyz`)).ok,
    {
      timeoutMs: 120_000,
      abortIf: () =>
        child.exitCode === null ? undefined : `operator exited with ${child.exitCode}`,
      diagnostics: logTail,
    },
  );
  return {
    pid,
    usage: () => processUsage(pid),
    async apiRequests() {
      const text = await (await fetch(`${base}/metrics`)).text();
      return parsePrometheus(text, 'wasm_node_operator_api_requests_total');
    },
    oomKills: () => cgroup?.oomKills() ?? 0,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
      cgroup?.remove();
    },
  };
}

/** Requests by verb from a set of counter samples. */
export function requestsByVerb(samples: Sample[]): Map<string, number> {
  return sumBy(samples, (s) => s.labels.verb ?? '');
}

/** A fresh memory cgroup (v2, or v1's memory controller) with a hard limit, swap included. */
function memoryCgroup(limitMiB: number) {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const dir = v2
    ? `/sys/fs/cgroup/wasm-node-bench-${process.pid}`
    : `/sys/fs/cgroup/memory/wasm-node-bench-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  const bytes = String(limitMiB * 1024 * 1024);
  if (v2) {
    writeFileSync(`${dir}/memory.max`, bytes);
    writeFileSync(`${dir}/memory.swap.max`, '0');
  } else {
    writeFileSync(`${dir}/memory.limit_in_bytes`, bytes);
    if (existsSync(`${dir}/memory.memsw.limit_in_bytes`))
      writeFileSync(`${dir}/memory.memsw.limit_in_bytes`, bytes);
  }
  return {
    procs: `${dir}/cgroup.procs`,
    oomKills: () => {
      const file = v2 ? `${dir}/memory.events` : `${dir}/memory.oom_control`;
      return Number(/^oom_kill (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
    },
    remove: () => rmdirSync(dir),
  };
}
