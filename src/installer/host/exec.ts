import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  /**
   * Run from the root cgroup of every hierarchy: for a command that may start a daemon as its
   * child (OpenRC's start-stop-daemon, a restart command that forks), which would otherwise
   * land in the installer pod's cgroup, under its memory limit, and die with the pod.
   */
  rootCgroup?: boolean;
}

/** Runs programs on the node: in its namespaces, so host paths and services mean what they say. */
export interface HostExec {
  run(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

/** Moves the shell into the root cgroup of each mounted hierarchy (v1 and v2), then runs "$@". */
const FROM_ROOT_CGROUP = [
  'sh',
  '-c',
  'while read -r _ dir type _; do case $type in cgroup|cgroup2) echo $$ > "$dir/cgroup.procs" 2>/dev/null;; esac; done < /proc/self/mounts; exec "$@"',
  'sh',
];

function spawnCollect(argv: readonly string[], timeoutMs: number): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('empty command'));
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The process whose namespaces are the node's: PID 1 normally. Some VMs (Firecracker's init)
 * keep PID 1's namespaces unreadable even to root; there it is our parent, the container's
 * shim, which containerd started in the node's namespaces.
 */
async function nodeNamespacesPid(): Promise<number> {
  try {
    await readlink('/proc/1/ns/mnt');
    return 1;
  } catch {
    return process.ppid;
  }
}

/**
 * On the node itself (host root `/`) programs run directly; from the installer pod they run
 * through nsenter into the node's namespaces, which needs `hostPID: true` and privilege. The
 * cgroup namespace too: from inside the pod's, the host's root cgroup is out of reach.
 */
export function hostExec(hostRoot: string): HostExec {
  let prefix: Promise<string[]> | undefined;
  const nsenter = async () => [
    'nsenter',
    '--target',
    String(await nodeNamespacesPid()),
    '--mount',
    '--uts',
    '--ipc',
    '--net',
    '--pid',
    '--cgroup',
    '--',
  ];
  return {
    run: async (argv, opts) => {
      prefix ??= hostRoot === '/' ? Promise.resolve([]) : nsenter();
      const command = opts?.rootCgroup ? [...FROM_ROOT_CGROUP, ...argv] : argv;
      return spawnCollect([...(await prefix), ...command], opts?.timeoutMs ?? 60_000);
    },
  };
}
