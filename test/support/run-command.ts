import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (SIGKILL) after this long; the result then has signal 'SIGKILL'. */
  timeoutMs?: number;
  /** 'inherit' streams stderr live (long builds show progress) instead of capturing it. */
  stderr?: 'pipe' | 'inherit';
  /** Written to the command's stdin, which is closed afterwards. */
  input?: string;
}

/** Runs a command to completion and never rejects on a non-zero exit: callers assert on it. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', opts.stderr ?? 'pipe'],
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
      : undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed: resolves with its stdout, rejects with its whole stderr. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runCommand(cmd, args, { timeoutMs: 60_000, ...opts });
  if (r.code === 0) return r.stdout;
  const stdoutTail = r.stdout.trim().split('\n').slice(-40).join('\n');
  const output = `${r.stderr.trim()}\n${stdoutTail}`.trim();
  const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  throw new Error(`${cmd} ${args.join(' ')} failed (${how})\n${output}`);
}
