import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of live processes whose command line contains `text` (e.g. a work dir). */
export function processesReferencing(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(text);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}
