import { link, lstat, readFile, rm, writeFile } from 'node:fs/promises';
import type { HostFs } from './fs.ts';
import { InstallError } from '../errors.ts';

export const LOCK_PATH = '/run/wasm-node-installer.lock';
/** How long a lock file without a PID may be younger than before it counts as abandoned. */
const UNWRITTEN_GRACE_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockOptions {
  timeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Called once when the lock is held by another installer and this one starts to wait. */
  onWait?: (owner: number | undefined) => void;
  /** Stops the wait (SIGTERM). */
  signal?: AbortSignal;
}

/** The holder of the lock file now, and whether it may be taken over. */
async function inspect(file: string, now: number) {
  const [text, st] = await Promise.all([
    readFile(file, 'utf8').catch(() => undefined),
    lstat(file).catch(() => undefined),
  ]);
  if (text === undefined || st === undefined) return { stale: false, owner: undefined, ino: 0 };
  const owner = Number(text);
  if (Number.isInteger(owner) && owner > 0) return { stale: !alive(owner), owner, ino: st.ino };
  // No PID (yet): an installer of an older release writes it after creating the file.
  return { stale: now - st.mtimeMs > UNWRITTEN_GRACE_MS, owner: undefined, ino: st.ino };
}

/**
 * One installer at a time per node: two interleaved runs could each back up the other's
 * half-written config. The lock file appears with the owner's PID (the host's, with hostPID)
 * already in it: written to a temp file first and linked into place, which fails if the lock
 * exists. A lock whose owner is gone is taken over, so a killed installer never blocks the
 * node; it is removed only if it is still the same file (inode) that named the dead owner.
 */
export async function acquireHostLock(fs: HostFs, opts: LockOptions): Promise<() => Promise<void>> {
  const file = fs.local(LOCK_PATH);
  const mine = `${file}.${process.pid}.tmp`;
  await writeFile(mine, String(process.pid));
  const deadline = opts.now() + opts.timeoutMs;
  let waiting = false;
  try {
    for (;;) {
      try {
        await link(mine, file);
        return () => release(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await inspect(file, Date.now());
      if (held.stale) {
        if ((await lstat(file).catch(() => undefined))?.ino === held.ino)
          await rm(file, { force: true });
        continue;
      }
      if (opts.signal?.aborted)
        throw new InstallError('interrupted', 'stopped by SIGTERM while waiting for the host lock');
      if (opts.now() > deadline) {
        throw new InstallError(
          'locked',
          `another installer (pid ${held.owner ?? 'unknown'}) is changing this node; ${LOCK_PATH} is held`,
        );
      }
      if (!waiting) opts.onWait?.(held.owner);
      waiting = true;
      await opts.sleep(250);
    }
  } finally {
    await rm(mine, { force: true });
  }
}

/** Removes the lock only while it is still ours. */
async function release(file: string): Promise<void> {
  if ((await readFile(file, 'utf8').catch(() => undefined)) === String(process.pid))
    await rm(file, { force: true });
}
