import { dirname, isAbsolute, join } from 'node:path';
import { CRI_NAMESPACES } from '../../containerd/config-layout.ts';
import { canonical, parseToml, tableAt, type TomlTable } from '../../containerd/toml-table.ts';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import type { HostExec } from '../host/exec.ts';
import type { HostFs } from '../host/fs.ts';
import { InstallError } from '../errors.ts';

export async function containerdVersion(
  inst: ContainerdInstance,
  exec: HostExec,
): Promise<{ major: number; minor: number }> {
  const r = await exec.run([inst.exe, '--version'], { timeoutMs: 15_000 });
  const m = /\bv?(\d+)\.(\d+)\.\d+/.exec(r.stdout);
  if (r.code !== 0 || m === null) {
    throw new InstallError(
      'containerd-unusable',
      `${inst.exe} --version failed: ${(r.stderr || r.stdout).trim()}`,
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

async function dump(
  inst: ContainerdInstance,
  exec: HostExec,
  fs: HostFs,
  path: string,
  text: string,
) {
  // Beside the real file, so relative imports resolve the same way.
  const tmp = `${path}.wasm-node-validate.toml`;
  await fs.writeAtomic(tmp, text, { mode: 0o600 });
  try {
    const r = await exec.run([inst.exe, '--config', tmp, 'config', 'dump'], { timeoutMs: 30_000 });
    if (r.code !== 0) {
      throw new InstallError(
        'config-rejected',
        `the node's containerd (${inst.exe}) rejects the new config: ${r.stderr.trim().split('\n').pop() ?? ''}`,
      );
    }
    return parseToml(r.stdout);
  } finally {
    await fs.remove(tmp);
  }
}

/**
 * The runtimes the node's containerd has built in (containerd 1.x: see AddOptions.builtIn): its
 * dump of a config that declares nothing, /dev/null, which every node has.
 */
export async function builtInRuntimes(
  inst: ContainerdInstance,
  exec: HostExec,
): Promise<TomlTable> {
  const r = await exec.run([inst.exe, '--config', '/dev/null', 'config', 'dump'], {
    timeoutMs: 30_000,
  });
  if (r.code !== 0) {
    throw new InstallError(
      'containerd-unusable',
      `\`${inst.exe} config dump\` of an empty config failed: ${r.stderr.trim().split('\n').pop() ?? ''}`,
    );
  }
  return (
    tableAt(parseToml(r.stdout), ['plugins', CRI_NAMESPACES.v2, 'containerd', 'runtimes']) ?? {}
  );
}

/** Non-glob imports must exist: containerd 2.x `config dump` skips a missing one, the daemon does not. */
async function checkImports(fs: HostFs, path: string, text: string): Promise<void> {
  const imports = parseToml(text)['imports'];
  for (const imp of Array.isArray(imports) ? imports : []) {
    if (typeof imp !== 'string' || /[*?[]/.test(imp)) continue;
    const full = isAbsolute(imp) ? imp : join(dirname(path), imp);
    if (!(await fs.exists(full))) {
      throw new InstallError(
        'config-rejected',
        `${path} imports ${full}, which does not exist; containerd would not start`,
      );
    }
  }
}

/**
 * Asks the node's own containerd what the candidate config means before it is swapped in:
 * each handler must be registered with its runtime type, and every runtime and the default
 * runtime containerd had before must read back unchanged.
 */
export async function validateCandidate(
  args: {
    inst: ContainerdInstance;
    path: string;
    before: string | undefined;
    candidate: string;
    handlers: ReadonlyMap<string, string>;
    /** Our handlers that the candidate takes out: they must be gone, and are not compared. */
    removed: readonly string[];
  },
  exec: HostExec,
  fs: HostFs,
): Promise<void> {
  const { inst, path, before, candidate, handlers, removed } = args;
  await checkImports(fs, path, candidate);
  const ns =
    (await containerdVersion(inst, exec)).major >= 2 ? CRI_NAMESPACES.v3 : CRI_NAMESPACES.v2;
  const runtimesOf = (doc: TomlTable) =>
    tableAt(doc, ['plugins', ns, 'containerd', 'runtimes']) ?? {};
  const defaultOf = (doc: TomlTable) =>
    tableAt(doc, ['plugins', ns, 'containerd'])?.['default_runtime_name'];
  const next = await dump(inst, exec, fs, path, candidate);
  for (const [name, type] of handlers) {
    const got = tableAt(runtimesOf(next), [name])?.['runtime_type'];
    if (got !== type) {
      throw new InstallError(
        'config-rejected',
        `the node's containerd reads handler "${name}" as ${got === undefined ? 'missing' : `runtime_type ${String(got)}`} from the new config`,
      );
    }
  }
  for (const name of removed) {
    if (runtimesOf(next)[name] !== undefined) {
      throw new InstallError(
        'config-rejected',
        `handler "${name}" is still defined after removing our block`,
      );
    }
  }
  if (before === undefined) return;
  const prev = await dump(inst, exec, fs, path, before);
  for (const [name, entry] of Object.entries(runtimesOf(prev))) {
    if (removed.includes(name)) continue;
    if (canonical(runtimesOf(next)[name]) !== canonical(entry)) {
      throw new InstallError(
        'config-rejected',
        `the new config would change the existing runtime "${name}"`,
      );
    }
  }
  if (defaultOf(prev) !== defaultOf(next)) {
    throw new InstallError('config-rejected', 'the new config would change default_runtime_name');
  }
}
