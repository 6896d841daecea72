import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseInstallReport, type InstallReport } from '../../src/formats/install-report.ts';
import { repoPath } from './repo.ts';
import type { SupervisedNode } from './supervised-node.ts';

export const INSTALLER_CLI = repoPath('bin/wasm-node-installer.js');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * A shims dir as the installer image carries it: the wasmtime shim and its checksum
 * manifest. `corrupt` appends bytes after the manifest is written, as a tampered image would.
 */
export function writeShimsDir(
  dir: string,
  shim: string,
  opts: { version: string; corrupt?: boolean },
): string {
  mkdirSync(dir, { recursive: true });
  const bytes = readFileSync(shim);
  const binary = basename(shim);
  writeFileSync(
    join(dir, binary),
    opts.corrupt ? Buffer.concat([bytes, Buffer.from('tampered')]) : bytes,
    {
      mode: 0o755,
    },
  );
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      schema: 'wasm-node.dev/shims/v1',
      runtimes: [{ name: 'wasmtime', version: opts.version, binary, sha256: sha256(bytes) }],
    }),
  );
  return dir;
}

export interface InstallerTarget {
  shimsDir: string;
  restartCommand?: string;
  binDir?: string;
  terminationLog: string;
  /**
   * Run as from an installer pod: in a mount namespace of its own with the node's / at a host
   * root of its own; `hidden` paths are covered by an empty tmpfs in its own view only, so a
   * path that resolves outside the host root finds nothing, as in a container.
   */
  pod?: { hidden: readonly string[] };
  /** cgroup.procs files the installer joins before it starts, as a pod's cgroup would hold it. */
  cgroups?: readonly string[];
}

/** The installer's command line against a supervised node, as the operator's Job would run it. */
export function installerCommand(
  node: SupervisedNode,
  args: readonly string[],
  target: InstallerTarget,
): string[] {
  const cli = (hostRoot: string) => [
    process.execPath,
    INSTALLER_CLI,
    ...args,
    '--host-root',
    hostRoot,
    '--containerd-socket',
    node.socket,
    '--bin-dir',
    target.binDir ?? node.binDir,
    '--shims-dir',
    target.shimsDir,
    '--restart-command',
    target.restartCommand ?? node.restartCommand,
    '--restart-timeout',
    '60',
    '--termination-log',
    target.terminationLog,
  ];
  if (target.cgroups !== undefined) {
    const join = target.cgroups.map((f) => `echo $$ > "${f}"`).join('\n');
    return ['sh', '-c', `set -e\n${join}\nexec "$@"`, 'sh', ...cli('/')];
  }
  if (target.pod === undefined) return cli('/');
  const host = join(node.dir, 'pod-host');
  mkdirSync(host, { recursive: true });
  const hide = target.pod.hidden.map((d) => `mount -t tmpfs pod-view "${d}"`).join('\n');
  const script = `set -e\nmount --rbind / "${host}"\n${hide}\nexec "$@"`;
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    'sh',
    '-c',
    script,
    'sh',
    ...cli(host),
  ];
}

export interface InstallerRun {
  code: number | null;
  report: InstallReport;
  stderr: string;
  ms: number;
}

/** An installer process started in the background. */
export interface StartedInstaller {
  pid: number;
  /** Its log (JSON lines on stdout) so far. */
  log(): string;
  /** Resolves once it has exited, with its report. */
  done: Promise<InstallerRun>;
}

/** Starts the real CLI; `done` reads its report from the termination log. */
export function startInstaller(
  node: SupervisedNode,
  args: readonly string[],
  target: InstallerTarget,
): StartedInstaller {
  rmSync(target.terminationLog, { force: true });
  const started = performance.now();
  const [cmd, ...argv] = installerCommand(node, args, target);
  const child = spawn(cmd as string, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const done = new Promise<InstallerRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      const text = existsSync(target.terminationLog)
        ? readFileSync(target.terminationLog, 'utf8')
        : '';
      const parsed = parseInstallReport(text);
      if (!parsed.ok) reject(new Error(`${parsed.error}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ code, report: parsed.report, stderr, ms });
    });
  });
  return { pid: child.pid as number, log: () => stdout, done };
}

/** Runs the real CLI to completion and reads its report from the termination log. */
export function runInstaller(
  node: SupervisedNode,
  args: readonly string[],
  target: InstallerTarget,
): Promise<InstallerRun> {
  return startInstaller(node, args, target).done;
}
