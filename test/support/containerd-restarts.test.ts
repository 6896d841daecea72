import { describe, expect, it } from '@jest/globals';
import { overlaps, restartWindows } from './containerd-restarts.ts';
import type { JournalEntry } from './machines.ts';

const line = (realtimeUs: number, message: string, pid = 1): JournalEntry => ({
  realtimeUs,
  bootId: 'b',
  message,
  pid,
});

describe('restartWindows', () => {
  it('spans each Stopping to the next Started of PID 1, ignoring the boot and containerd itself', () => {
    const entries = [
      line(100, 'Starting containerd.service - containerd container runtime...'),
      line(110, 'Started containerd.service - containerd container runtime.'),
      line(200, 'Stopping containerd.service - containerd container runtime...'),
      line(205, 'time="..." level=info msg="Stop CRI service"', 42),
      line(210, 'Stopped containerd.service - containerd container runtime.'),
      line(215, 'Starting containerd.service - containerd container runtime...'),
      line(230, 'Started containerd.service - containerd container runtime.'),
      line(300, 'Stopping containerd container runtime...'),
      line(320, 'Started containerd container runtime.'),
    ];
    expect(restartWindows('n1', entries.reverse())).toEqual([
      { node: 'n1', fromUs: 200, toUs: 230 },
      { node: 'n1', fromUs: 300, toUs: 320 },
    ]);
  });

  it('leaves out a stop that never started again', () => {
    expect(restartWindows('n1', [line(1, 'Stopping containerd.service...')])).toEqual([]);
  });
});

describe('overlaps', () => {
  const w = (node: string, fromUs: number, toUs: number) => ({ node, fromUs, toUs });

  it('finds windows of different nodes that share a moment', () => {
    const a = w('a', 0, 10);
    const b = w('b', 10, 20);
    const c = w('c', 25, 30);
    expect(overlaps([c, b, a])).toEqual([[a, b]]);
  });

  it('finds none when restarts follow each other', () => {
    expect(overlaps([w('a', 0, 10), w('b', 11, 20), w('c', 21, 30), w('a', 31, 40)])).toEqual([]);
  });
});
