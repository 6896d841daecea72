import type { HostFs } from '../host/fs.ts';
import { CONTENT_DIR } from './manifest.ts';

/**
 * Removes binaries of ours that neither the config (keep) nor a running process (a shim
 * serving pods started before an upgrade) uses any more.
 */
export async function pruneShims(
  binDir: string,
  keep: readonly string[],
  runningExes: readonly string[],
  fs: HostFs,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.list(binDir)) {
    if (!CONTENT_DIR.test(name)) continue;
    const dir = `${binDir}/${name}/`;
    const used = [...keep, ...runningExes].some((p) => p.startsWith(dir));
    if (!used) {
      await fs.remove(`${binDir}/${name}`);
      removed.push(`${binDir}/${name}`);
    }
  }
  return removed;
}
