import type { RuntimeStatus } from '../../cri/runtime-status.ts';
import { InstallError } from '../errors.ts';
import { findContainerds } from '../facts/containerd-discovery.ts';
import { selectContainerd, type ContainerdInstance } from '../facts/containerd-instance.ts';
import type { HostDeps } from '../host/deps.ts';
import type { RestartMethod } from '../plan/node-flavour.ts';

type RestartDeps = Pick<HostDeps, 'exec' | 'fs' | 'processes' | 'criStatus' | 'sleep' | 'now'>;

/** The containerd serving `address` now, or undefined when none does. */
export async function runningPid(deps: RestartDeps, address: string): Promise<number | undefined> {
  try {
    const all = await findContainerds(deps.fs, await deps.processes());
    return selectContainerd(all, { socket: address }).pid;
  } catch {
    return undefined;
  }
}

function command(method: RestartMethod): string[] {
  switch (method.kind) {
    case 'systemd':
      return ['systemctl', 'restart', method.unit];
    case 'openrc':
      return ['rc-service', method.service, 'restart'];
    case 'command':
      return ['sh', '-c', method.command];
    case 'none':
      throw new InstallError('no-restart-method', method.reason);
  }
}

/**
 * Restarts through the service manager, never with SIGHUP: containerd does not handle it and
 * simply dies, leaving the node without a runtime unless something restarts it.
 */
export async function restartContainerd(
  method: RestartMethod,
  timeoutMs: number,
  deps: RestartDeps,
): Promise<void> {
  const argv = command(method);
  const r = await deps.exec.run(argv, { timeoutMs, rootCgroup: true });
  if (r.code !== 0) {
    throw new InstallError(
      'restart-failed',
      `${argv.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`,
    );
  }
}

/** Waits until a containerd other than `oldPid` serves `address` and answers CRI Status. */
export async function waitForContainerd(
  address: string,
  oldPid: number | undefined,
  timeoutMs: number,
  deps: RestartDeps,
): Promise<{ inst: ContainerdInstance; status: RuntimeStatus }> {
  const deadline = deps.now() + timeoutMs;
  for (;;) {
    let last: string;
    try {
      const all = await findContainerds(deps.fs, await deps.processes());
      const inst = selectContainerd(all, { socket: address });
      if (inst.pid === oldPid) {
        last = `containerd ${oldPid} has not exited yet`;
      } else {
        return { inst, status: await deps.criStatus(address) };
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (deps.now() > deadline) {
      throw new InstallError(
        'containerd-down',
        `containerd did not come back on ${address} within ${timeoutMs / 1000}s: ${last}`,
      );
    }
    await deps.sleep(500);
  }
}
