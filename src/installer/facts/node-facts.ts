import type { TomlTable } from '../../containerd/toml-table.ts';
import { parseToml } from '../../containerd/toml-table.ts';
import type { RuntimeStatus } from '../../cri/runtime-status.ts';
import { InstallError } from '../errors.ts';
import type { HostDeps } from '../host/deps.ts';
import type { HostFs } from '../host/fs.ts';
import type { HostProcess } from '../host/proc.ts';
import type { ConfigFiles } from '../plan/config-change.ts';
import { parseOsRelease, planFlavour, probePaths, type FlavourPlan } from '../plan/node-flavour.ts';
import type { OperationRequest } from '../request.ts';
import { planShims, type ShimPlan } from '../shims/manifest.ts';
import {
  binaryVersion,
  builtInRuntimes,
  configDefault,
  isMulticall,
  parseVersion,
  type ContainerdVersion,
} from './containerd-binary.ts';
import { nodeContainerd } from './containerd-discovery.ts';
import type { ContainerdInstance } from './containerd-instance.ts';

/** Where crun reads the controllers of the v2 hierarchy, as containerd's mount namespace shows it. */
export const UNIFIED_CONTROLLERS = '/sys/fs/cgroup/unified/cgroup.controllers';

/**
 * Everything the plan decides on, read from the node once: processes, files, versions. The
 * flavour is decided here already (purely, by plan/node-flavour.ts) because which files to
 * read depends on it.
 */
export interface NodeFacts {
  containerd: ContainerdInstance;
  flavour: FlavourPlan;
  files: ConfigFiles;
  /** A symlink's target when the edit target is one (NixOS). */
  targetLink: string | undefined;
  /** The release, asked once; not read for `status`. */
  version: ContainerdVersion | undefined;
  /** The runtimes containerd has built in, where it forgets them once a file declares any (1.x). */
  builtIn: TomlTable | undefined;
  /** CRI status now; undefined when containerd's CRI does not answer. */
  cri: RuntimeStatus | undefined;
  /** The v2 hierarchy's controllers as containerd sees them, when crun-wasm is asked for. */
  unifiedControllers: string | undefined;
  /** The image's binaries, verified against its manifest, with where they go (install). */
  shims: ShimPlan[];
}

/**
 * A config file's text, undefined only when it does not exist: one that cannot be read is
 * refused, never taken for missing and replaced.
 */
async function readConfig(fs: HostFs, path: string): Promise<string | undefined> {
  try {
    return await fs.readText(path);
  } catch (err) {
    throw new InstallError('config-unreadable', `cannot read ${path}: ${(err as Error).message}`);
  }
}

async function decideFlavour(
  req: OperationRequest,
  inst: ContainerdInstance,
  procs: readonly HostProcess[],
  fs: HostFs,
): Promise<FlavourPlan> {
  const existing = new Set<string>();
  for (const p of probePaths(inst)) if (await fs.exists(p)) existing.add(p);
  const pid1 = procs.find((p) => p.pid === 1);
  return planFlavour(inst, {
    osRelease: parseOsRelease(await fs.readText('/etc/os-release').catch(() => undefined)),
    init: {
      exe: pid1?.exe,
      comm: pid1?.comm,
      systemdRunning: await fs.exists('/run/systemd/system'),
      openrcRunning: await fs.exists('/run/openrc'),
    },
    configText: await readConfig(fs, inst.configPath),
    existing,
    restartCommand: req.restartCommand,
    restartTimeoutMs: req.restartTimeoutMs,
  });
}

/** The version key of the distribution's own config; a file that does not parse counts as 2. */
function versionKey(text: string | undefined): number {
  try {
    const v = parseToml(text ?? '')['version'];
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : 2;
  } catch {
    return 2;
  }
}

async function containerdVersion(inst: ContainerdInstance, deps: HostDeps) {
  if (!isMulticall(inst)) return binaryVersion(inst, deps.exec);
  const reported = await deps.criVersion(inst.address).catch(() => undefined);
  const version = reported && parseVersion(reported.runtimeVersion);
  return version ?? binaryVersion(inst, deps.exec);
}

/** The edit target's and the live config's text, seeded from the binary when an install needs it. */
async function readFiles(
  req: OperationRequest,
  containerd: ContainerdInstance,
  flavour: FlavourPlan,
  exec: HostDeps['exec'],
  fs: HostFs,
): Promise<ConfigFiles> {
  const live = await readConfig(fs, containerd.configPath);
  const target = await readConfig(fs, flavour.target.path);
  const seeded =
    req.operation === 'install' && flavour.target.kind === 'config' && target === undefined;
  return {
    target,
    rendered: flavour.target.kind === 'template' ? live : undefined,
    version: versionKey(live),
    seed: seeded ? await configDefault(containerd, exec) : undefined,
  };
}

/** Reads the node once for `req`: the read step of read → plan → act. */
export async function gatherFacts(req: OperationRequest, deps: HostDeps): Promise<NodeFacts> {
  const { fs, exec } = deps;
  const procs = await deps.processes();
  const containerd = await nodeContainerd(fs, procs, req.containerdSocket);
  const flavour = await decideFlavour(req, containerd, procs, fs);
  const install = req.operation === 'install';
  // The image is checked before containerd is asked anything.
  const shims = install ? await planShims(req.runtimes, req) : [];
  const version =
    req.operation === 'status' ? undefined : await containerdVersion(containerd, deps);
  const facts: NodeFacts = {
    containerd,
    flavour,
    files: await readFiles(req, containerd, flavour, exec, fs),
    targetLink: await fs.symlinkTarget(flavour.target.path),
    version,
    builtIn:
      install && version !== undefined && version.major < 2
        ? await builtInRuntimes(containerd, exec)
        : undefined,
    cri: await deps.criStatus(containerd.address).catch(() => undefined),
    unifiedControllers:
      install && req.runtimes.some((r) => r.launch === 'runc-binary')
        ? await deps.readAsSeenBy(containerd.pid, UNIFIED_CONTROLLERS)
        : undefined,
    shims,
  };
  deps.log.info(
    {
      pid: containerd.pid,
      command: containerd.command,
      config: containerd.configPath,
      address: containerd.address,
      version: version?.text,
      flavour: flavour.flavour,
      target: flavour.target,
      restart: flavour.restart,
    },
    'node read',
  );
  return facts;
}
