import type { JournalEntry } from './machines.ts';

/** A containerd.service (re)start on one node, as its systemd logged it. */
export interface RestartWindow {
  node: string;
  /** When systemd began stopping the old containerd ("Stopping ..."), µs since the epoch. */
  fromUs: number;
  /** When systemd reported the new one started ("Started ..."). */
  toUs: number;
}

/**
 * The restarts systemd (PID 1) logged for containerd.service: each "Stopping" up to the next
 * "Started". Lines of other processes (containerd's own) are ignored, and so is a start with no
 * stop before it (the boot).
 */
export function restartWindows(node: string, entries: readonly JournalEntry[]): RestartWindow[] {
  const windows: RestartWindow[] = [];
  let stopping: number | undefined;
  for (const e of [...entries].sort((a, b) => a.realtimeUs - b.realtimeUs)) {
    if (e.pid !== 1) continue;
    if (/^Stopping\b/.test(e.message) && stopping === undefined) stopping = e.realtimeUs;
    if (/^Started\b/.test(e.message) && stopping !== undefined) {
      windows.push({ node, fromUs: stopping, toUs: e.realtimeUs });
      stopping = undefined;
    }
  }
  return windows;
}

/** Pairs of windows on different nodes that overlap in time. */
export function overlaps(windows: readonly RestartWindow[]): [RestartWindow, RestartWindow][] {
  const sorted = [...windows].sort((a, b) => a.fromUs - b.fromUs);
  const found: [RestartWindow, RestartWindow][] = [];
  sorted.forEach((w, i) => {
    for (const later of sorted.slice(i + 1)) {
      if (later.fromUs > w.toUs) break;
      if (later.node !== w.node) found.push([w, later]);
    }
  });
  return found;
}
