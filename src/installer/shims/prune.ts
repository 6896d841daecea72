import type { HostDeps } from '../host/deps.ts';
import type { HostFs } from '../host/fs.ts';
import { CONTENT_DIR } from './manifest.ts';

/** Where containerd keeps a bundle per task: <state>/<this>/<namespace>/<task id>. */
const TASK_DIR = 'io.containerd.runtime.v2.task';

/**
 * The OCI runtimes live tasks are driven by: the runc shim writes its options, BinaryName
 * included, to options.json in each task's bundle and re-runs that binary for every exec,
 * kill and delete of the task (crun itself runs from a memfd copy, so no process shows it).
 */
async function taskBinaries(fs: HostFs, state: string): Promise<string[]> {
  const found: string[] = [];
  for (const ns of await fs.list(`${state}/${TASK_DIR}`)) {
    for (const id of await fs.list(`${state}/${TASK_DIR}/${ns}`)) {
      const text = await fs.readText(`${state}/${TASK_DIR}/${ns}/${id}/options.json`);
      try {
        const name = (JSON.parse(text ?? '{}') as { binary_name?: unknown }).binary_name;
        if (typeof name === 'string' && name !== '') found.push(name);
      } catch {
        // a task being created or deleted as we look
      }
    }
  }
  return found;
}

/**
 * Binaries in use now: running processes' executables and the OCI runtimes of live tasks of
 * the containerd whose state directory is `statePath`.
 */
export async function binariesInUse(
  deps: Pick<HostDeps, 'fs' | 'processes'>,
  statePath: string,
): Promise<string[]> {
  const running = (await deps.processes()).flatMap((p) => (p.exe ? [p.exe] : []));
  return [...running, ...(await taskBinaries(deps.fs, statePath))];
}

/**
 * Removes binaries of ours that neither the config (keep) nor anything running uses any more:
 * a shim serving pods started before an upgrade, a crun a live task's shim will run again.
 */
export async function pruneShims(
  binDir: string,
  keep: readonly string[],
  inUse: readonly string[],
  fs: HostFs,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.list(binDir)) {
    if (!CONTENT_DIR.test(name)) continue;
    const dir = `${binDir}/${name}/`;
    const used = [...keep, ...inUse].some((p) => p.startsWith(dir));
    if (!used) {
      await fs.remove(`${binDir}/${name}`);
      removed.push(`${binDir}/${name}`);
    }
  }
  return removed;
}
