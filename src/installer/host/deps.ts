import type { Logger } from 'pino';
import type { RuntimeStatus, RuntimeVersion } from '../../cri/runtime-status.ts';
import type { HostExec } from './exec.ts';
import type { HostFs } from './fs.ts';
import type { HostProcess } from './proc.ts';

/**
 * Everything an operation reads from or does to the node and the world, passed in: the real
 * ones are wired in cli/node-command.ts, unit tests pass fakes or a temp host root.
 */
export interface HostDeps {
  fs: HostFs;
  exec: HostExec;
  /** The node's processes now (host/proc.ts). */
  processes: () => Promise<HostProcess[]>;
  /** A file as process `pid` sees it, through its mount namespace. */
  readAsSeenBy: (pid: number, path: string) => Promise<string | undefined>;
  /** The node's boot ID, as its kubelet reports it in status.nodeInfo.bootID. */
  bootId: () => Promise<string | undefined>;
  /** CRI RuntimeService/Status of the containerd serving this host path. */
  criStatus: (address: string) => Promise<RuntimeStatus>;
  /** CRI RuntimeService/Version of that containerd. */
  criVersion: (address: string) => Promise<RuntimeVersion>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Aborted on SIGTERM: stop before changing the node, or finish the change in progress. */
  signal: AbortSignal;
  log: Logger;
}
