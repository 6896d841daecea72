import { describe, expect, it } from '@jest/globals';
import { FakeClock, settle } from './testing/fake-clock.ts';
import { WorkQueue, type WorkResult } from './work-queue.ts';

/** A processor whose calls the test completes by hand. */
function controllable() {
  const calls: string[] = [];
  const pending = new Map<
    string,
    { resolve: (r: WorkResult) => void; reject: (e: Error) => void }
  >();
  let running = 0;
  let maxRunning = 0;
  const process = (key: string) =>
    new Promise<WorkResult>((resolve, reject) => {
      calls.push(key);
      running++;
      maxRunning = Math.max(maxRunning, running);
      const done = () => running--;
      pending.set(key, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
    });
  return { calls, pending, process, maxRunning: () => maxRunning };
}

function queue(clock: FakeClock, p: ReturnType<typeof controllable>, concurrency = 2) {
  const depths: number[] = [];
  const errors: [string, number][] = [];
  const q = new WorkQueue({
    concurrency,
    backoff: { initial: 100, max: 1000 },
    clock,
    process: p.process,
    onError: (key, _err, attempt) => errors.push([key, attempt]),
    onDepth: (d) => depths.push(d),
  });
  return { q, depths, errors };
}

describe('WorkQueue', () => {
  it('dedupes a key that is already waiting', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q } = queue(clock, p, 1);
    q.add('a');
    q.add('b');
    q.add('b');
    q.start();
    await settle();
    expect(p.calls).toEqual(['a']);
    expect(q.depth).toBe(1);
    p.pending.get('a')!.resolve({});
    await settle();
    p.pending.get('b')!.resolve({});
    await settle();
    expect(p.calls).toEqual(['a', 'b']);
  });

  it('never processes one key concurrently; a re-add while processing runs it once more afterwards', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q } = queue(clock, p, 4);
    q.start();
    q.add('a');
    await settle();
    q.add('a');
    q.add('a');
    await settle();
    expect(p.calls).toEqual(['a']);
    p.pending.get('a')!.resolve({});
    await settle();
    expect(p.calls).toEqual(['a', 'a']);
    p.pending.get('a')!.resolve({});
    await settle();
    expect(p.calls).toEqual(['a', 'a']);
  });

  it('bounds concurrency', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q } = queue(clock, p, 2);
    q.start();
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await settle();
    expect(q.active).toBe(2);
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      p.pending.get(k)?.resolve({});
      await settle();
    }
    expect(p.calls).toHaveLength(5);
    expect(p.maxRunning()).toBe(2);
  });

  it('retries failures with per-key exponential backoff and resets it on success', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q, errors } = queue(clock, p, 1);
    q.start();
    q.add('flaky');
    await settle();
    p.pending.get('flaky')!.reject(new Error('boom'));
    await settle();
    await clock.advance(99);
    expect(p.calls).toHaveLength(1);
    await clock.advance(1);
    expect(p.calls).toHaveLength(2);
    p.pending.get('flaky')!.reject(new Error('boom'));
    await clock.advance(199);
    expect(p.calls).toHaveLength(2);
    await clock.advance(1);
    expect(p.calls).toHaveLength(3);
    expect(errors).toEqual([
      ['flaky', 1],
      ['flaky', 2],
    ]);
    p.pending.get('flaky')!.resolve({});
    await settle();
    q.add('flaky');
    await settle();
    p.pending.get('flaky')!.reject(new Error('again'));
    await settle();
    expect(errors.at(-1)).toEqual(['flaky', 1]);
  });

  it('requeues after requeueAfterMs, and an earlier delay wins over a later one', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q } = queue(clock, p, 1);
    q.start();
    q.add('a');
    await settle();
    p.pending.get('a')!.resolve({ requeueAfterMs: 5000 });
    await settle();
    q.addAfter('a', 1000);
    await clock.advance(1000);
    expect(p.calls).toEqual(['a', 'a']);
    p.pending.get('a')!.resolve({});
    await clock.advance(5000);
    expect(p.calls).toEqual(['a', 'a']);
  });

  it('reports depth and stop() waits for in-flight work and drops the rest', async () => {
    const clock = new FakeClock();
    const p = controllable();
    const { q, depths } = queue(clock, p, 1);
    q.add('a');
    q.add('b');
    expect(depths.at(-1)).toBe(2);
    q.start();
    await settle();
    q.addAfter('c', 10);
    let stopped = false;
    void q.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    p.pending.get('a')!.resolve({});
    await settle();
    expect(stopped).toBe(true);
    await clock.advance(100);
    expect(p.calls).toEqual(['a']);
    expect(depths.at(-1)).toBe(0);
  });
});
