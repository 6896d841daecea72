import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs programs on the node: in its namespaces, so host paths and services mean what they say. */
export interface HostExec {
  run(argv: readonly string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
}

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
 * through nsenter into the node's namespaces, which needs `hostPID: true` and privilege.
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
    '--',
  ];
  return {
    run: async (argv, opts) => {
      prefix ??= hostRoot === '/' ? Promise.resolve([]) : nsenter();
      return spawnCollect([...(await prefix), ...argv], opts?.timeoutMs ?? 60_000);
    },
  };
}
