import { createHash } from 'node:crypto';

/** Hex sha256 prefix; inputs are joined with NUL so ('a','bc') and ('ab','c') differ. */
export function shortHash(parts: readonly string[], length = 10): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, length);
}

/** Label-safe stand-in for a node name (label values stop at 63 chars). */
export function nodeHash(nodeName: string): string {
  return shortHash([nodeName], 16);
}

const MAX_NAME = 63;

/**
 * Deterministic Job name ≤ 63 chars: `wasm-<op>-<node prefix>-<hash>`. The hash covers the
 * full node name and the run identity, so truncated prefixes of long node names never collide
 * and a retry gets a fresh name while a repeated create of the same run is idempotent.
 * 63 (not 253) because the Job controller copies the name into the pods' job-name label.
 */
export function jobName(operation: string, nodeName: string, runId: string): string {
  const hash = shortHash([operation, nodeName, runId]);
  const prefix = `wasm-${operation}-`;
  const room = MAX_NAME - prefix.length - hash.length - 1;
  // Node names are DNS subdomains; keep [a-z0-9-] so the result is also a valid label value.
  const stem = nodeName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, room)
    .replace(/-+$/, '');
  return stem ? `${prefix}${stem}-${hash}` : `${prefix}${hash}`;
}
