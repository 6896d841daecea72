import type { Runtime } from '../../catalog/runtimes.ts';
import { ownedHandlers } from '../../containerd/patch-config.ts';
import { registeredHandlers, type RuntimeStatus } from '../../cri/runtime-status.ts';
import { InstallError } from '../errors.ts';
import type { NodeFacts } from '../facts/node-facts.ts';
import type { Operation, OperationRequest } from '../request.ts';
import { legacyShimCri, type PathShim } from '../shims/containerd-path.ts';
import type { ShimPlan } from '../shims/manifest.ts';
import { planInstall, planUninstall, type ConfigChange } from './config-change.ts';
import { crunCgroupRefusal } from './crun-cgroups.ts';
import type { FlavourPlan } from './node-flavour.ts';

export type Step =
  /** The config is as wanted and containerd has loaded it. */
  | 'none'
  /** The config is as wanted but containerd has not loaded it (an installer stopped halfway). */
  | 'restart'
  /** Write the change, restart, verify, or roll back. */
  | 'change';

/** What an operation will do to the node: decided from the facts alone, executed by operations/. */
export interface InstallPlan {
  operation: Operation;
  flavour: FlavourPlan;
  /** The config change; undefined for `status`, which changes nothing. */
  change: ConfigChange | undefined;
  step: Step;
  /** Handlers containerd must report through CRI afterwards, with their runtime type. */
  expected: ReadonlyMap<string, string>;
  /** Our handlers the change takes out: containerd must no longer report them. */
  removed: readonly string[];
  /** Handlers our block defines before the change. */
  owned: readonly string[];
  /** Runtimes the report is about. */
  requested: readonly Runtime[];
  /** Binaries to put on the node, verified, with where they go (install). */
  shims: readonly ShimPlan[];
  /** containerd before 1.7 ignores runtime_path: these shims also go onto its PATH (install). */
  pathShims: readonly PathShim[];
  /** Our copies on containerd's PATH come off (uninstall). */
  unpathShims: boolean;
  /** Binaries the config uses, which a prune keeps; undefined: no prune (status). */
  keep: readonly string[] | undefined;
}

/** Why containerd's CRI view differs from what a plan wants, or undefined when it matches. */
export function criMismatch(
  status: RuntimeStatus,
  expected: ReadonlyMap<string, string>,
  removed: readonly string[],
): string | undefined {
  const got = registeredHandlers(status);
  const missing = [...expected].filter(([name, type]) => got.get(name) !== type).map(([n]) => n);
  if (missing.length > 0) return `does not report handler(s) ${missing.join(', ')} through CRI`;
  const lingering = removed.filter((name) => got.has(name));
  if (lingering.length > 0)
    return `still reports removed handler(s) ${lingering.join(', ')} through CRI`;
  return undefined;
}

type Draft = Omit<InstallPlan, 'step' | 'operation' | 'flavour' | 'owned' | 'requested'>;

function installDraft(req: OperationRequest, facts: NodeFacts): Draft {
  if (req.runtimes.some((r) => r.launch === 'runc-binary')) {
    const refusal = crunCgroupRefusal(facts.unifiedControllers);
    if (refusal) throw new InstallError('cgroups-unsupported', refusal);
  }
  const legacy = facts.version !== undefined && legacyShimCri(facts.version);
  const installs = facts.shims.map((s) => ({
    runtime: s.runtime,
    binaryPath: s.path,
    shimOptions: !legacy,
  }));
  const change = planInstall(facts.flavour.target, facts.files, installs, facts.builtIn);
  return {
    change,
    expected: new Map(req.runtimes.map((r) => [r.name, r.runtimeType])),
    removed: [],
    shims: facts.shims,
    pathShims: legacy
      ? facts.shims.flatMap((s) =>
          s.runtime.launch === 'shim' && s.bytes
            ? [{ binary: s.runtime.binary, sha256: s.sha256, bytes: s.bytes }]
            : [],
        )
      : [],
    unpathShims: false,
    keep: facts.shims.map((s) => s.path),
  };
}

function uninstallDraft(facts: NodeFacts, owned: readonly string[]): Draft {
  return {
    change: planUninstall(facts.flavour.target, facts.files),
    expected: new Map(),
    removed: owned,
    shims: [],
    pathShims: [],
    unpathShims: true,
    keep: [],
  };
}

function statusDraft(): Draft {
  return {
    change: undefined,
    expected: new Map(),
    removed: [],
    shims: [],
    pathShims: [],
    unpathShims: false,
    keep: undefined,
  };
}

function decideStep(draft: Draft, facts: NodeFacts): Step {
  if (draft.change === undefined) return 'none';
  if (draft.change.after !== draft.change.before) return 'change';
  const settled =
    facts.cri !== undefined && criMismatch(facts.cri, draft.expected, draft.removed) === undefined;
  return settled ? 'none' : 'restart';
}

/** Refusals that depend on what the plan has to do: nothing has been changed yet. */
function refuse(step: Step, facts: NodeFacts): void {
  const { flavour } = facts;
  if (step !== 'none' && flavour.restart.kind === 'none')
    throw new InstallError('no-restart-method', flavour.restart.reason);
  if (step === 'change' && facts.targetLink !== undefined) {
    throw new InstallError(
      'config-symlinked',
      `${flavour.target.path} is a symlink to ${facts.targetLink}: whatever manages that file (NixOS, a configuration tool) would undo or never see a change there; add the runtimes where it is generated, or replace the link by a file`,
    );
  }
}

/** The plan step of read → plan → act: pure, and throws the refusals. */
export function planOperation(req: OperationRequest, facts: NodeFacts): InstallPlan {
  const owned = ownedHandlers(facts.files.rendered ?? facts.files.target ?? '');
  const draft =
    req.operation === 'install'
      ? installDraft(req, facts)
      : req.operation === 'uninstall'
        ? uninstallDraft(facts, owned)
        : statusDraft();
  const step = decideStep(draft, facts);
  refuse(step, facts);
  return {
    ...draft,
    operation: req.operation,
    flavour: facts.flavour,
    step,
    owned,
    requested: req.runtimes,
  };
}
