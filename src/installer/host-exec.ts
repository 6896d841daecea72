import { spawn } from 'node:child_process';

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
 * On the node itself (host root `/`) programs run directly; from the installer pod they run
 * through nsenter into PID 1's namespaces, which needs `hostPID: true` and privilege.
 */
export function hostExec(hostRoot: string): HostExec {
  const prefix =
    hostRoot === '/'
      ? []
      : ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--'];
  return { run: (argv, opts) => spawnCollect([...prefix, ...argv], opts?.timeoutMs ?? 60_000) };
}
