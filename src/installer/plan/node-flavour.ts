import { basename, dirname } from 'node:path';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import { InstallError } from '../errors.ts';

export type EditTarget =
  /** Edit the file containerd reads. */
  | { kind: 'config'; path: string }
  /** Edit the template a distribution renders the config from on every start (k3s, RKE2, MicroK8s). */
  | { kind: 'template'; path: string; renderedPath: string; base: string }
  /** Write a file of our own into a directory the distribution merges (k0s). */
  | { kind: 'drop-in'; path: string };

export type RestartMethod =
  | { kind: 'systemd'; unit: string }
  | { kind: 'openrc'; service: string }
  | { kind: 'command'; command: string }
  /** Reading a node needs no restart; changing one then fails before any write, with this reason. */
  | { kind: 'none'; reason: string };

export interface FlavourPlan {
  flavour: 'containerd' | 'k3s' | 'rke2' | 'microk8s' | 'k0s' | 'eks-al2023';
  target: EditTarget;
  restart: RestartMethod;
  /** How long the restart command and containerd's coming back may take together. */
  restartTimeoutMs: number;
  notes: string[];
}

/**
 * A k3s or RKE2 server, or a k0s controller, restarts its apiserver and etcd with containerd:
 * minutes on a loaded node. The rollback may need a second restart, so an installer's worst
 * case after the swap is about twice this (ADR 0010).
 */
export const RESTART_TIMEOUT_MS = { node: 120_000, controlPlane: 240_000 } as const;

/**
 * What tells the node's service manager. PID 1's command line does not: Debian, Ubuntu and
 * kind start systemd as `/sbin/init`, Alpine starts busybox's init, and OpenRC can run under
 * either sysvinit's or its own `openrc-init`.
 */
export interface InitFacts {
  /** /proc/1/exe as PID 1 sees it: the binary behind any symlink (/usr/lib/systemd/systemd). */
  exe: string | undefined;
  /** /proc/1/comm. */
  comm: string | undefined;
  /** /run/systemd/system exists: systemd's own test that it is the running service manager (sd_booted). */
  systemdRunning: boolean;
  /** /run/openrc exists: OpenRC has booted the node, whichever init runs it. */
  openrcRunning: boolean;
}

export type ServiceManager = 'systemd' | 'openrc';

/** The node's service manager, or undefined when it has neither systemd nor OpenRC. */
export function serviceManager(init: InitFacts): ServiceManager | undefined {
  const exe = basename(init.exe ?? '');
  if (init.systemdRunning || exe === 'systemd' || init.comm === 'systemd') return 'systemd';
  if (init.openrcRunning || exe === 'openrc-init') return 'openrc';
  return undefined;
}

/** What the installer looked up on the node, so that deciding stays a pure function. */
export interface HostFacts {
  osRelease: Record<string, string>;
  init: InitFacts;
  /** The live config's text, when the file exists. */
  configText: string | undefined;
  /** Which of probePaths() exist. */
  existing: ReadonlySet<string>;
  restartCommand?: string | undefined;
  /** Overrides the flavour's restart timeout. */
  restartTimeoutMs?: number | undefined;
}

const IMMUTABLE: Record<string, string> = {
  talos:
    'Talos has an immutable root filesystem: install Wasm shims as a Talos system extension and configure them in /etc/cri/conf.d through the machine config',
  bottlerocket:
    'Bottlerocket has an immutable root filesystem: use a Bottlerocket variant or settings that ship the Wasm shim',
  flatcar:
    'Flatcar mounts /usr read-only and its containerd configuration comes with the OS image: ship the shim as a Flatcar system extension (sysext)',
  cos: 'Container-Optimized OS mounts /etc as tmpfs and /opt noexec: use a GKE Ubuntu node pool',
};

const K3S_BASE = '{{ template "base" . }}\n';
const rendersWith = (inst: ContainerdInstance, word: string) =>
  inst.ancestors.some((args) => args.some((a) => basename(a) === word || a.includes(`/${word}/`)));
const hostsControlPlane = (inst: ContainerdInstance) =>
  inst.ancestors.some((args) => args.includes('server') || args.includes('controller'));
const serviceRole = (inst: ContainerdInstance, server: string, agent: string) =>
  hostsControlPlane(inst) ? server : agent;

export function probePaths(inst: ContainerdInstance): string[] {
  const dir = dirname(inst.configPath);
  return [
    `${dir}/config-v3.toml.tmpl`,
    `${dir}/config.toml.tmpl`,
    `${dir}/containerd-template.toml`,
    '/etc/k0s/containerd.d',
    '/usr/bin/nodeadm',
  ];
}

function detect(
  inst: ContainerdInstance,
  facts: HostFacts,
): Omit<FlavourPlan, 'restart' | 'restartTimeoutMs'> & { unit: string } {
  const dir = dirname(inst.configPath);
  const isK3sFamily = /\/rancher\/(k3s|rke2)\/agent\/etc\/containerd\/config\.toml$/.test(
    inst.configPath,
  );
  if (isK3sFamily) {
    const rke2 = inst.configPath.includes('/rancher/rke2/') || rendersWith(inst, 'rke2');
    const renderedV3 = /^\s*version\s*=\s*[34]\s*$/m.test(facts.configText ?? '');
    const v3 = `${dir}/config-v3.toml.tmpl`;
    const v2 = `${dir}/config.toml.tmpl`;
    const path = facts.existing.has(v3) ? v3 : facts.existing.has(v2) ? v2 : renderedV3 ? v3 : v2;
    return {
      flavour: rke2 ? 'rke2' : 'k3s',
      // Never a copy of the rendered file: that would freeze k3s' generated paths across upgrades.
      target: { kind: 'template', path, renderedPath: inst.configPath, base: K3S_BASE },
      unit: rke2
        ? serviceRole(inst, 'rke2-server', 'rke2-agent')
        : serviceRole(inst, 'k3s', 'k3s-agent'),
      notes: [
        `${basename(path)} is rendered into config.toml by ${rke2 ? 'RKE2' : 'k3s'} on every start`,
      ],
    };
  }
  if (basename(inst.configPath) === 'containerd.toml' && inst.configPath.includes('microk8s')) {
    const path = `${dir}/containerd-template.toml`;
    return {
      flavour: 'microk8s',
      target: { kind: 'template', path, renderedPath: inst.configPath, base: '' },
      unit: 'snap.microk8s.daemon-containerd',
      notes: [
        'MicroK8s renders containerd.toml from containerd-template.toml on every containerd start',
      ],
    };
  }
  if (
    /^# k0s_managed=true/m.test(facts.configText ?? '') &&
    facts.existing.has('/etc/k0s/containerd.d')
  ) {
    return {
      flavour: 'k0s',
      target: { kind: 'drop-in', path: '/etc/k0s/containerd.d/wasm-node-operator.toml' },
      unit: serviceRole(inst, 'k0scontroller', 'k0sworker'),
      notes: ['k0s merges /etc/k0s/containerd.d/*.toml into its generated containerd config'],
    };
  }
  const nodeadm = facts.existing.has('/usr/bin/nodeadm');
  return {
    flavour: nodeadm ? 'eks-al2023' : 'containerd',
    target: { kind: 'config', path: inst.configPath },
    unit: 'containerd',
    notes: nodeadm
      ? [
          'nodeadm rewrites /etc/containerd/config.toml at boot; the operator re-verifies nodes and re-applies the change',
        ]
      : [],
  };
}

/** Decides how this node is changed and restarted, or refuses with a reason a person can act on. */
export function planFlavour(inst: ContainerdInstance, facts: HostFacts): FlavourPlan {
  const id = facts.osRelease['ID'] ?? '';
  const immutable = IMMUTABLE[id];
  if (immutable !== undefined) throw new InstallError('immutable-host', immutable);
  const { unit, ...plan } = detect(inst, facts);
  const controlPlane = plan.flavour !== 'containerd' && hostsControlPlane(inst);
  return {
    ...plan,
    restart: restartMethod(facts, unit),
    restartTimeoutMs:
      facts.restartTimeoutMs ?? RESTART_TIMEOUT_MS[controlPlane ? 'controlPlane' : 'node'],
  };
}

function restartMethod(facts: HostFacts, unit: string): RestartMethod {
  if (facts.restartCommand !== undefined) return { kind: 'command', command: facts.restartCommand };
  switch (serviceManager(facts.init)) {
    case 'systemd':
      return { kind: 'systemd', unit };
    case 'openrc':
      return { kind: 'openrc', service: unit };
    case undefined:
      return {
        kind: 'none',
        reason: `cannot tell how to restart containerd: the node's PID 1 is ${facts.init.exe ?? facts.init.comm ?? 'unreadable'} and neither /run/systemd/system nor /run/openrc exists, so it runs neither systemd nor OpenRC; pass --restart-command`,
      };
  }
}

export function parseOsRelease(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = (m[2] as string).replace(/^["']|["']$/g, '');
  }
  return out;
}
