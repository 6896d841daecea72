import { open, readFile, rm } from 'node:fs/promises';
import type { HostFs } from './host-fs.ts';
import { InstallError } from './install-error.ts';

export const LOCK_PATH = '/run/wasm-node-installer.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One installer at a time per node: two interleaved runs could each back up the other's
 * half-written config. The lock file holds the owner's PID (the host's, with hostPID) and is
 * taken over when that process is gone, so a killed installer never blocks the node.
 */
export async function acquireHostLock(
  fs: HostFs,
  opts: { timeoutMs: number; sleep: (ms: number) => Promise<void> },
): Promise<() => Promise<void>> {
  const file = fs.local(LOCK_PATH);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(file, 'utf8').catch(() => ''));
    if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InstallError(
        'locked',
        `another installer (pid ${owner}) is changing this node; ${LOCK_PATH} is held`,
      );
    }
    await opts.sleep(250);
  }
}
