import { readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Linux's limit on symlinks followed while resolving one path. */
const MAX_LINKS = 40;

/**
 * Resolves a host path to the host path it names, following symlinks as the node would: an
 * absolute link target starts again at the host root and `..` never climbs above it (openat2's
 * RESOLVE_IN_ROOT). From the installer pod, `/host` + a link to `/nix/store/…` would otherwise
 * be followed into the pod's own filesystem. Components that do not exist are kept as written.
 * `followLast: false` leaves a symlink in the last component unresolved.
 */
export async function resolveInRoot(
  root: string,
  path: string,
  opts: { followLast?: boolean } = {},
): Promise<string> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    resolved.push(part);
    if (pending.length === 0 && opts.followLast === false) break;
    const target = await readlink(join(root, ...resolved)).catch((err: NodeJS.ErrnoException) => {
      // Not a link, or not there: nothing below it can be a link either way we read it.
      if (err.code === 'EINVAL' || err.code === 'ENOENT' || err.code === 'ENOTDIR')
        return undefined;
      throw err;
    });
    if (target === undefined) continue;
    if (++links > MAX_LINKS)
      throw Object.assign(new Error(`too many symlinks resolving ${path}`), { code: 'ELOOP' });
    resolved.pop();
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return `/${resolved.join('/')}`;
}
