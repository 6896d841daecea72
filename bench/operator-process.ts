import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Open sockets of a live process (TCP connections and listeners, from /proc/<pid>/fd). */
export function socketCount(pid: number): number {
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between listing and reading
    }
  }
  return sockets;
}

export interface OperatorProcess {
  pid: number;
  usage(): ProcessUsage;
  /** The operator's own metrics (Prometheus text); undefined for a peer without them. */
  metrics(): Promise<string | undefined>;
  /** Times the kernel's OOM killer fired in its memory cgroup (0 without a limit). */
  oomKills(): number;
  stop(): Promise<void>;
}

/** How our operator runs: the esbuild bundle the image ships, or the TypeScript source. */
export type OperatorEntry = 'bundle' | 'source';

/** Another operator to run side by side (e.g. the Go reference peer). */
export interface PeerCommand {
  /** Shell command; {kubeconfig} and {namespace} are replaced, and also set as env. */
  command: string;
  /** What the tables call it. */
  name: string;
}

interface Launch {
  workDir: string;
  kubeconfigPath: string;
  /** Runs the process in a memory cgroup with this limit, as a container limit would. */
  memoryLimitMiB?: number;
  /** Extra node flags before the script, e.g. --cpu-prof (profiles are written on exit). */
  nodeArgs?: string[];
}

/**
 * Our operator as a child process, as it runs in its container (`node <bundle>`, or the
 * source), so /proc figures are the operator's alone (the simulated kubelet runs in the bench
 * process). Ready when /readyz answers 200.
 */
export async function startOperatorProcess(
  opts: Launch & { config: Record<string, unknown>; entry: OperatorEntry },
): Promise<OperatorProcess> {
  const [port] = (await freePorts(1)) as [number];
  const configPath = path.join(opts.workDir, 'operator-config.json');
  // YAML is a superset of JSON, so the config loader reads this file as is.
  await writeFile(
    configPath,
    JSON.stringify({ ...opts.config, server: { host: '127.0.0.1', port } }),
  );
  const script = repoPath(
    opts.entry === 'bundle' ? 'dist/wasm-node-operator.mjs' : 'src/operator/main.ts',
  );
  const command = [
    process.execPath,
    ...(opts.nodeArgs ?? []),
    script,
    '--config',
    configPath,
    '--kubeconfig',
    opts.kubeconfigPath,
    '--identity',
    'bench',
  ];
  const base = `http://127.0.0.1:${port}`;
  return launch(
    opts,
    command,
    {},
    async () => (await fetch(`${base}/readyz`)).ok,
    async () => (await fetch(`${base}/metrics`)).text(),
  );
}

/**
 * A peer operator: its command with the operator's kubeconfig and namespace. It has no
 * readiness the bench knows, so it counts as ready (caches synced) once its CPU use has
 * stayed below 5 % for 3 s after start.
 */
export async function startPeerProcess(
  opts: Launch & { peer: PeerCommand; namespace: string },
): Promise<OperatorProcess> {
  const command = opts.peer.command
    .replaceAll('{kubeconfig}', opts.kubeconfigPath)
    .replaceAll('{namespace}', opts.namespace);
  const env = {
    KUBECONFIG: opts.kubeconfigPath,
    POD_NAMESPACE: opts.namespace,
    CONTROLLER_NAMESPACE: opts.namespace,
  };
  let quietSince = 0;
  let lastCpu = -1;
  const quiet = async (pid: number) => {
    const { cpuSeconds } = processUsage(pid);
    const busy = lastCpu < 0 || cpuSeconds - lastCpu > 0.05;
    lastCpu = cpuSeconds;
    if (busy) quietSince = Date.now();
    await sleep(1000);
    return Date.now() - quietSince >= 3000;
  };
  return launch(opts, ['sh', '-c', `exec ${command}`], env, quiet, async () => undefined);
}

async function launch(
  opts: Launch,
  command: string[],
  env: Record<string, string>,
  ready: (pid: number) => Promise<boolean>,
  metrics: () => Promise<string | undefined>,
): Promise<OperatorProcess> {
  const logPath = path.join(opts.workDir, 'operator.log');
  const log = createWriteStream(logPath);
  const cgroup = opts.memoryLimitMiB ? memoryCgroup(opts.memoryLimitMiB) : undefined;
  const options: SpawnOptions = {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  };
  // The shell joins the cgroup and then becomes the operator, so its pid is the operator's.
  const child: ChildProcess = cgroup
    ? spawn('sh', ['-c', `echo $$ > ${cgroup.procs} && exec "$0" "$@"`, ...command], options)
    : spawn(command[0] as string, command.slice(1), options);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid as number;
  const logTail = () => readFileSync(logPath, 'utf8').split('\n').slice(-20).join('\n');
  await waitFor('the operator to be ready', () => ready(pid), {
    timeoutMs: 120_000,
    abortIf: () => (child.exitCode === null ? undefined : `operator exited with ${child.exitCode}`),
    diagnostics: logTail,
  });
  return {
    pid,
    usage: () => processUsage(pid),
    metrics,
    oomKills: () => cgroup?.oomKills() ?? 0,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
      cgroup?.remove();
    },
  };
}

/** The operator's wasm_node_operator_api_requests_total samples (none for a peer). */
export async function apiRequests(op: OperatorProcess): Promise<Sample[]> {
  const text = await op.metrics();
  return text ? parsePrometheus(text, 'wasm_node_operator_api_requests_total') : [];
}

export interface HeapFigures {
  usedMiB: number;
  totalMiB: number;
  externalMiB: number;
  /** Size of each V8 heap space (new, old, code, large objects…), MiB. */
  spacesMiB?: Record<string, number>;
}

/** The operator's own heap figures (prom-client's default metrics). */
export async function heapOf(op: OperatorProcess): Promise<HeapFigures | undefined> {
  const text = await op.metrics();
  if (!text) return undefined;
  const mib = (name: string) =>
    (parsePrometheus(text, `wasm_node_operator_nodejs_${name}`)[0]?.value ?? NaN) / 2 ** 20;
  const spaces = parsePrometheus(text, 'wasm_node_operator_nodejs_heap_space_size_total_bytes');
  return {
    spacesMiB: Object.fromEntries(
      spaces.map((x) => [x.labels.space ?? '?', Math.round((x.value / 2 ** 20) * 10) / 10]),
    ),
    usedMiB: mib('heap_size_used_bytes'),
    totalMiB: mib('heap_size_total_bytes'),
    externalMiB: mib('external_memory_bytes'),
  };
}

export async function reconcileTotal(op: OperatorProcess): Promise<number> {
  const text = await op.metrics();
  if (!text) return 0;
  return parsePrometheus(text, 'wasm_node_operator_reconcile_total').reduce(
    (s, x) => s + x.value,
    0,
  );
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
