import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseInstallReport, type InstallReport } from '../../src/formats/install-report.ts';
import { repoPath } from './repo.ts';
import { runCommand } from './run-command.ts';
import type { SupervisedNode } from './supervised-node.ts';

const INSTALLER_CLI = repoPath('bin/wasm-node-installer.js');

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
  /** cgroup.procs files the installer joins before it starts, as a pod's cgroup would hold it. */
  cgroups?: readonly string[];
}

/** The installer's command line against a supervised node, as the operator's Job would run it. */
function installerCommand(
  node: SupervisedNode,
  args: readonly string[],
  target: InstallerTarget,
): string[] {
  const cli = [
    process.execPath,
    INSTALLER_CLI,
    ...args,
    '--host-root',
    '/',
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
    return ['sh', '-c', `set -e\n${join}\nexec "$@"`, 'sh', ...cli];
  }
  return cli;
}

export interface InstallerRun {
  code: number | null;
  report: InstallReport;
  stderr: string;
  ms: number;
}

/** Runs the real CLI to completion and reads its report from the termination log. */
export async function runInstaller(
  node: SupervisedNode,
  args: readonly string[],
  target: InstallerTarget,
): Promise<InstallerRun> {
  rmSync(target.terminationLog, { force: true });
  const started = performance.now();
  const [cmd, ...argv] = installerCommand(node, args, target);
  const r = await runCommand(cmd as string, argv, { timeoutMs: 180_000 });
  const ms = performance.now() - started;
  const text = existsSync(target.terminationLog) ? readFileSync(target.terminationLog, 'utf8') : '';
  const parsed = parseInstallReport(text);
  if (!parsed.ok) throw new Error(`${parsed.error}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return { code: r.code, report: parsed.report, stderr: r.stderr, ms };
}
