import { fileURLToPath } from 'node:url';

/** Absolute path of a file in the repository, e.g. repoPath('e2e/cluster/up.sh'). */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}
