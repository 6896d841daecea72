import type { Config } from '../config.ts';
import { shortHash } from './names.ts';

/** Where the Job mounts the host's `/`; the installer edits the host under it. */
export const HOST_ROOT = '/host';

export function installerArgs(
  operation: 'install' | 'uninstall',
  runtimes: readonly string[],
  installer: Config['installer'],
): string[] {
  const args = [operation, '--runtimes', runtimes.join(','), '--host-root', HOST_ROOT];
  // Uninstall must find the shims where install put them; restarting is install/uninstall alike.
  if (installer.restartCommand) args.push('--restart-command', installer.restartCommand);
  if (installer.binDir) args.push('--bin-dir', installer.binDir);
  return args;
}

/**
 * The desired-state hash: runtime set + installer image + installer args. A new image tag
 * (new shim versions) or new args change it, which re-installs nodes through the rollout.
 */
export function desiredHash(runtimes: readonly string[], installer: Config['installer']): string {
  return shortHash([installer.image, ...installerArgs('install', runtimes, installer)], 16);
}
