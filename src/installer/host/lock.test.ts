import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeHostFs } from './fs.ts';
import { acquireHostLock, LOCK_PATH, type LockOptions } from './lock.ts';
import { InstallError } from '../errors.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'host-lock-'));
  mkdirSync(join(root, 'run'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const lockFile = () => join(root, LOCK_PATH);
/** A clock that moves only when the lock sleeps, and a hook run on each sleep. */
function clock(onSleep: (n: number) => void = () => {}): LockOptions & { waits: unknown[] } {
  let t = 0;
  let sleeps = 0;
  const waits: unknown[] = [];
  return {
    timeoutMs: 5_000,
    now: () => t,
    sleep: (ms) => {
      t += ms;
      onSleep(++sleeps);
      return Promise.resolve();
    },
    onWait: (owner) => waits.push(owner),
    waits,
  };
}
const deadPid = () => spawnSync('true').pid as number;

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof InstallError) return err.code;
    throw err;
  }
  throw new Error('expected the lock to be refused');
}

describe('acquireHostLock', () => {
  it('holds the lock with its PID in it from the first moment, and releases it', async () => {
    const release = await acquireHostLock(nodeHostFs(root), clock());
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    await release();
    expect(() => readFileSync(lockFile())).toThrow();
  });

  it('waits for a live owner and gives up with "locked", naming it', async () => {
    writeFileSync(lockFile(), String(process.ppid));
    const opts = clock();
    expect(await refusal(acquireHostLock(nodeHostFs(root), opts))).toBe('locked');
    expect(opts.waits).toEqual([process.ppid]);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('takes over the lock of an owner that is gone', async () => {
    writeFileSync(lockFile(), String(deadPid()));
    const release = await acquireHostLock(nodeHostFs(root), clock());
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    await release();
  });

  it('never takes over a lock caught between its creation and its PID (as an older installer writes it)', async () => {
    // The owner has created the file and writes its PID while we wait: it is a live lock.
    writeFileSync(lockFile(), '');
    const opts = clock((n) => {
      if (n === 1) writeFileSync(lockFile(), String(process.ppid));
    });
    expect(await refusal(acquireHostLock(nodeHostFs(root), opts))).toBe('locked');
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('release leaves a lock that is no longer its own', async () => {
    const release = await acquireHostLock(nodeHostFs(root), clock());
    writeFileSync(lockFile(), String(process.ppid));
    await release();
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });
});
