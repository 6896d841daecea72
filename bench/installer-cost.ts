import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { criStatus } from '../src/cri/runtime-status.ts';
import type { InstallReport } from '../src/formats/install-report.ts';
import { runInstaller, writeShimsDir } from '../test/support/installer-cli.ts';
import { startSupervisedNode, type SupervisedNode } from '../test/support/supervised-node.ts';
import { wasmShimPath } from '../test/support/wasm-fixtures.ts';

export interface InstallerSample {
  /** Wall time of `install` (process start → exit) minus the restart command's own time. */
  installExclRestartMs: number;
  restartMs: number;
  /** Wall time of a second `install` with nothing to change. */
  noopMs: number;
  /** Longest stretch in which CRI Status on the socket failed, during the install. */
  unavailableMs: number;
  /** CRI Status probes sent during the install (the window's resolution is about one probe). */
  probes: number;
}

/** Wraps the node's restart command to record how long the restart itself took. */
function timedRestart(
  node: SupervisedNode,
  scratch: string,
): { command: string; lastMs(): number } {
  const times = join(scratch, 'restart-times');
  const command = join(scratch, 'timed-restart');
  writeFileSync(
    command,
    `#!/bin/sh\nstart=$(date +%s%N)\n${node.restartCommand} "$@"\nrc=$?\necho "$start $(date +%s%N)" >> ${times}\nexit $rc\n`,
  );
  chmodSync(command, 0o755);
  return {
    command,
    lastMs: () => {
      const [start, end] = readFileSync(times, 'utf8')
        .trim()
        .split('\n')
        .at(-1)!
        .split(' ')
        .map(Number);
      return ((end as number) - (start as number)) / 1e6;
    },
  };
}

async function install(
  node: SupervisedNode,
  shims: string,
  restartCommand: string,
  scratch: string,
): Promise<{ ms: number; report: InstallReport }> {
  const { ms, report, code, stderr } = await runInstaller(
    node,
    ['install', '--runtimes', 'wasmtime'],
    {
      shimsDir: shims,
      restartCommand,
      terminationLog: join(scratch, `termination-log-${Date.now()}`),
    },
  );
  if (!report.ok) throw new Error(`installer failed (exit ${code}): ${stderr}`);
  return { ms, report };
}

/** Probes CRI Status back to back until stopped; returns the longest failing stretch. */
function probeAvailability(socket: string): {
  stop(): Promise<{ longestMs: number; probes: number }>;
} {
  let stopping = false;
  const done = (async () => {
    let longestMs = 0;
    let probes = 0;
    let downSince: number | undefined;
    while (!stopping) {
      probes++;
      const ok = await criStatus(socket, 1_000).then(
        () => true,
        () => false,
      );
      const now = performance.now();
      if (!ok) downSince ??= now;
      else if (downSince !== undefined) {
        longestMs = Math.max(longestMs, now - downSince);
        downSince = undefined;
      }
      await sleep(5);
    }
    return { longestMs, probes };
  })();
  return {
    stop: async () => {
      stopping = true;
      return done;
    },
  };
}

/**
 * The installer CLI as a child process against a real containerd kept alive by a supervisor
 * (test/support/supervised-node.ts), installing the wasmtime shim built from e2e/shim.
 */
export async function runInstallerCost(
  samples: number,
  log: (line: string) => void,
): Promise<InstallerSample[]> {
  const shim = await wasmShimPath();
  const results: InstallerSample[] = [];
  for (let i = 0; i < samples; i++) {
    const scratch = mkdtempSync(join(tmpdir(), 'bench-installer-'));
    const node = await startSupervisedNode();
    try {
      const shims = writeShimsDir(join(scratch, 'shims'), shim, { version: '0.1.0-bench' });
      const restart = timedRestart(node, scratch);
      const probe = probeAvailability(node.socket);
      const first = await install(node, shims, restart.command, scratch);
      const availability = await probe.stop();
      if (!first.report.restarted) throw new Error('the first install did not restart containerd');
      const restartMs = restart.lastMs();
      const noop = await install(node, shims, restart.command, scratch);
      if (noop.report.changed || noop.report.restarted)
        throw new Error('the re-run was not a no-op');
      results.push({
        installExclRestartMs: first.ms - restartMs,
        restartMs,
        noopMs: noop.ms,
        unavailableMs: availability.longestMs,
        probes: availability.probes,
      });
      log(
        `  installer sample ${i + 1}: ${JSON.stringify(results.at(-1), (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
      );
    } finally {
      await node.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return results;
}
