import { basename } from 'node:path';
import { CRI_NAMESPACES } from '../../containerd/config-layout.ts';
import { parseToml, tableAt, type TomlTable } from '../../containerd/toml-table.ts';
import { InstallError } from '../errors.ts';
import type { HostExec } from '../host/exec.ts';
import type { ContainerdInstance } from './containerd-instance.ts';

export interface ContainerdVersion {
  major: number;
  minor: number;
  /** As containerd gave it, e.g. `1.7.24~ds1` or `v1.7.23-k3s2`. */
  text: string;
}

/** `1.7.24~ds1`, `v2.2.9`, `containerd github.com/… v1.7.23-k3s2 …` → major and minor. */
export function parseVersion(text: string): ContainerdVersion | undefined {
  const m = /\bv?(\d+)\.(\d+)\.\d+\S*/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), text: m[0] } : undefined;
}

/**
 * Whether the binary behind containerd's process is containerd itself. k3s' containerd is its
 * multicall binary (data/<hash>/bin/k3s, reached through a `containerd` symlink), which runs
 * the k3s CLI unless started under the name `containerd`.
 */
export const isMulticall = (inst: ContainerdInstance) => basename(inst.exe) !== 'containerd';

/** The node's containerd release: from its binary, run the way the node started it. */
export async function binaryVersion(
  inst: ContainerdInstance,
  exec: HostExec,
): Promise<ContainerdVersion> {
  const r = await exec.run([inst.command, '--version'], { timeoutMs: 15_000 });
  const version = r.code === 0 ? parseVersion(r.stdout) : undefined;
  if (version === undefined) {
    throw new InstallError(
      'containerd-unusable',
      `${inst.command} --version failed: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return version;
}

/** `containerd --config FILE config dump`: the effective config the node's release reads from FILE. */
export async function configDump(
  inst: ContainerdInstance,
  exec: HostExec,
  file: string,
): Promise<{ ok: true; doc: TomlTable } | { ok: false; error: string }> {
  const r = await exec.run([inst.command, '--config', file, 'config', 'dump'], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) return { ok: false, error: r.stderr.trim().split('\n').pop() ?? '' };
  return { ok: true, doc: parseToml(r.stdout) };
}

/**
 * The runtimes the node's containerd has built in (containerd 1.x: see AddOptions.builtIn): its
 * dump of a config that declares nothing, /dev/null, which every node has.
 */
export async function builtInRuntimes(
  inst: ContainerdInstance,
  exec: HostExec,
): Promise<TomlTable> {
  const dump = await configDump(inst, exec, '/dev/null');
  if (!dump.ok) {
    throw new InstallError(
      'containerd-unusable',
      `\`${inst.command} config dump\` of an empty config failed: ${dump.error}`,
    );
  }
  return tableAt(dump.doc, ['plugins', CRI_NAMESPACES.v2, 'containerd', 'runtimes']) ?? {};
}

/** `containerd config default`: the config a node without one runs on, to seed a missing file. */
export async function configDefault(inst: ContainerdInstance, exec: HostExec): Promise<string> {
  const r = await exec.run([inst.command, 'config', 'default'], { timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new InstallError(
      'config-missing',
      `${inst.configPath} is missing and \`${inst.command} config default\` failed: ${r.stderr.trim()}`,
    );
  return r.stdout;
}
