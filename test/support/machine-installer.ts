// The installer CLI on a systemd machine (test/support/machines.ts), as on a user's node: run
// inside the machine by its own Node 24 from the repo, with no --restart-command, so it has to
// find systemd and containerd.service itself. The shims dir the image would carry is bound in.
import { parseInstallReport, type InstallReport } from '../../src/formats/install-report.ts';
import { registeredHandlers, criStatus } from '../../src/cri/runtime-status.ts';
import { bootMachine, nodeAndRepoBinds, type Machine, type MachineSpec } from './machines.ts';
import { waitFor } from './wait.ts';

/** Where a machine sees the shims dirs bound in with bootInstallerMachine(). */
export const MACHINE_SHIMS = '/shims';
const CLI = ['/opt/node/bin/node', '/repo/bin/wasm-node-installer.js'];

export interface MachineRun {
  code: number | null;
  report: InstallReport;
  /** The installer's log (JSON lines) and error line. */
  output: string;
}

/** Boots a machine with Node, the repo and `shims` (name → host dir, at /shims/<name>) bound in. */
export async function bootInstallerMachine(
  spec: MachineSpec,
  shims: Record<string, string>,
): Promise<Machine> {
  const binds = Object.entries(shims).map(([name, host]) => ({
    host,
    machine: `${MACHINE_SHIMS}/${name}`,
    readOnly: true,
  }));
  return bootMachine({ ...spec, binds: [...(await nodeAndRepoBinds()), ...binds] });
}

let runs = 0;

/** The installer's command line inside the machine; its output goes to `log`. */
function installerScript(args: readonly string[], opts: RunOptions, log: string, tl: string) {
  const argv = [
    ...CLI,
    ...args,
    '--host-root',
    opts.hostRoot ?? '/',
    '--shims-dir',
    `${MACHINE_SHIMS}/${opts.shims ?? 'good'}`,
    '--termination-log',
    tl,
    ...(opts.extra ?? []),
  ].map((a) => `'${a}'`);
  return `echo $$ > ${log}.pid\nexec ${opts.wrap ?? ''} ${argv.join(' ')} > ${log} 2>&1`;
}

export interface RunOptions {
  /** A name under /shims (default `good`). */
  shims?: string;
  hostRoot?: string;
  /** Shell words put before the CLI's command line (e.g. an unshare that gives it a pod's view). */
  wrap?: string;
  extra?: readonly string[];
}

/** An installer started inside the machine; `done` resolves when it has exited. */
export interface StartedRun {
  /** Resolves once its log says `text`. */
  logged(text: string): Promise<void>;
  /** Sends a signal to it (by the PID the machine knows it by). */
  signal(sig: 'TERM' | 'KILL'): Promise<void>;
  done: Promise<MachineRun>;
}

export function startInstallerIn(
  m: Machine,
  args: readonly string[],
  opts: RunOptions = {},
): StartedRun {
  const id = `${process.pid}-${++runs}`;
  const log = `/run/wasm-node-test-${id}.log`;
  const tl = `/run/wasm-node-test-${id}.report`;
  const exited = m.exec(['/bin/sh', '-c', installerScript(args, opts, log, tl)], {
    timeoutMs: 600_000,
  });
  const read = (file: string) => m.exec(['cat', file]).then((r) => r.stdout);
  const done = exited.then(async (r) => {
    const output = await read(log);
    const parsed = parseInstallReport(await read(tl));
    if (!parsed.ok) throw new Error(`${parsed.error}\ninstaller output:\n${output}`);
    return { code: r.code, report: parsed.report, output };
  });
  return {
    logged: async (text) => {
      await waitFor(
        `the installer to log "${text}"`,
        async () => (await read(log)).includes(text),
        {
          timeoutMs: 120_000,
          diagnostics: () => read(log),
        },
      );
    },
    signal: async (sig) => {
      await waitFor('the installer to start', async () => (await read(`${log}.pid`)) !== '', {
        timeoutMs: 60_000,
      });
      await m.sh(`kill -${sig} "$(cat ${log}.pid)"`);
    },
    done,
  };
}

/** Runs the installer inside the machine to completion. */
export function installerIn(m: Machine, args: readonly string[], opts: RunOptions = {}) {
  return startInstallerIn(m, args, opts).done;
}

/** containerd.service's main PID. */
export async function containerdPid(m: Machine): Promise<number> {
  return Number((await m.sh('systemctl show -P MainPID containerd')).trim());
}

/** The handlers the machine's containerd reports through CRI, asked from the host. */
export async function machineHandlers(m: Machine): Promise<Map<string, string>> {
  return registeredHandlers(
    await criStatus(await m.hostPath('/run/containerd/containerd.sock'), 10_000),
  );
}

/** A drop-in for containerd.service under /run (gone with the machine), loaded at once. */
export async function containerdDropIn(m: Machine, name: string, text: string): Promise<void> {
  const dir = '/run/systemd/system/containerd.service.d';
  await m.sh(
    `mkdir -p ${dir} && cat > ${dir}/${name}.conf <<'EOF'\n${text}\nEOF\nsystemctl daemon-reload`,
  );
}
