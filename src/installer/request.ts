import type { Runtime } from '../catalog/runtimes.ts';
import type { InstallReport } from '../formats/install-report.ts';

/** What the installer is asked to do: the one Operation type, from the report's schema. */
export type Operation = InstallReport['operation'];

/** One invocation of install, uninstall or status, as the CLI's flags give it. */
export interface OperationRequest {
  operation: Operation;
  runtimes: readonly Runtime[];
  /** Host directory for the shims. */
  binDir: string;
  /** Shims and manifest.json in the installer image. */
  shimsDir: string;
  containerdSocket?: string | undefined;
  restartCommand?: string | undefined;
  /** Overrides the flavour's restart timeout (plan/node-flavour.ts RESTART_TIMEOUT_MS). */
  restartTimeoutMs?: number | undefined;
  lockTimeoutMs: number;
}
