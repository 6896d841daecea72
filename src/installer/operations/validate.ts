import { dirname, isAbsolute, join } from 'node:path';
import { CRI_NAMESPACES } from '../../containerd/config-layout.ts';
import { canonical, parseToml, tableAt, type TomlTable } from '../../containerd/toml-table.ts';
import { InstallError } from '../errors.ts';
import { configDump, type ContainerdVersion } from '../facts/containerd-binary.ts';
import type { ContainerdInstance } from '../facts/containerd-instance.ts';
import type { HostExec } from '../host/exec.ts';
import type { HostFs } from '../host/fs.ts';

/** The effective config containerd reads from `text` placed beside `path` (relative imports resolve). */
async function dump(
  inst: ContainerdInstance,
  exec: HostExec,
  fs: HostFs,
  path: string,
  text: string,
) {
  const tmp = `${path}.wasm-node-validate.toml`;
  await fs.writeAtomic(tmp, text, { mode: 0o600 });
  try {
    const r = await configDump(inst, exec, tmp);
    if (!r.ok) {
      throw new InstallError(
        'config-rejected',
        `the node's containerd (${inst.command}) rejects the new config: ${r.error}`,
      );
    }
    return r.doc;
  } finally {
    await fs.remove(tmp);
  }
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

export interface Candidate {
  inst: ContainerdInstance;
  version: ContainerdVersion;
  /** The file containerd reads, beside which the candidate is dumped. */
  path: string;
  before: string | undefined;
  candidate: string;
  handlers: ReadonlyMap<string, string>;
  /** Our handlers that the candidate takes out: they must be gone, and are not compared. */
  removed: readonly string[];
  /**
   * Handlers our block defined before: an upgrade may change them (a new shim or bundle lives
   * in a new content-addressed directory), so only everyone else's runtimes must read back.
   */
  owned: readonly string[];
}

/** Handlers the candidate must define with their runtime type, and those it must not define. */
function checkHandlers(runtimes: TomlTable, c: Candidate): void {
  for (const [name, type] of c.handlers) {
    const got = tableAt(runtimes, [name])?.['runtime_type'];
    if (got !== type) {
      throw new InstallError(
        'config-rejected',
        `the node's containerd reads handler "${name}" as ${got === undefined ? 'missing' : `runtime_type ${String(got)}`} from the new config`,
      );
    }
  }
  for (const name of c.removed) {
    if (runtimes[name] !== undefined)
      throw new InstallError(
        'config-rejected',
        `handler "${name}" is still defined after removing our block`,
      );
  }
}

/**
 * Asks the node's own containerd what the candidate config means before it is swapped in:
 * each handler must be registered with its runtime type, and every runtime not ours and the
 * default runtime containerd had before must read back unchanged.
 */
export async function validateCandidate(c: Candidate, exec: HostExec, fs: HostFs): Promise<void> {
  await checkImports(fs, c.path, c.candidate);
  const ns = c.version.major >= 2 ? CRI_NAMESPACES.v3 : CRI_NAMESPACES.v2;
  const runtimesOf = (doc: TomlTable) =>
    tableAt(doc, ['plugins', ns, 'containerd', 'runtimes']) ?? {};
  const defaultOf = (doc: TomlTable) =>
    tableAt(doc, ['plugins', ns, 'containerd'])?.['default_runtime_name'];
  const next = await dump(c.inst, exec, fs, c.path, c.candidate);
  checkHandlers(runtimesOf(next), c);
  if (c.before === undefined) return;
  const prev = await dump(c.inst, exec, fs, c.path, c.before);
  for (const [name, entry] of Object.entries(runtimesOf(prev))) {
    if (c.removed.includes(name) || c.owned.includes(name)) continue;
    if (canonical(runtimesOf(next)[name]) !== canonical(entry)) {
      throw new InstallError(
        'config-rejected',
        `the new config would change the existing runtime "${name}"`,
      );
    }
  }
  if (defaultOf(prev) !== defaultOf(next))
    throw new InstallError('config-rejected', 'the new config would change default_runtime_name');
}
