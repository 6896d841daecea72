import { execFile } from 'node:child_process';

export interface RunOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion; rejects with its stderr (and stdout) in the message. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
        env: options.env ?? process.env,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const output = `${stderr}${stdout}`.trim().split('\n').slice(-40).join('\n');
        reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${output}`));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
