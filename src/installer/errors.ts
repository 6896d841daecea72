import {
  CONFIG_ERROR_CODES,
  ConfigError,
  type ConfigErrorCode,
} from '../containerd/config-error.ts';

/**
 * The node cannot take the runtimes as it is, and the installer changed nothing: the operator
 * marks such nodes unsupported instead of spending the rollout's failure budget on them.
 */
export const REFUSAL_CODES = [
  'immutable-host',
  'containerd-not-found',
  'containerd-ambiguous',
  'runtime-endpoint-mismatch',
  'cgroups-unsupported',
  'no-restart-method',
  'bin-dir-not-writable',
  'shim-path-not-writable',
  'shim-name-taken',
  'config-unreadable',
  'config-symlinked',
] as const;

/** Anything else that stopped an operation: a broken image, a containerd that misbehaved… */
export const FAILURE_CODES = [
  'manifest-invalid',
  'runtime-not-shipped',
  'checksum-mismatch',
  'bin-dir-too-long',
  'config-missing',
  'config-rejected',
  'containerd-unusable',
  'containerd-down',
  'restart-failed',
  'verification-failed',
  'locked',
  'interrupted',
] as const;

export type InstallErrorCode = (typeof REFUSAL_CODES)[number] | (typeof FAILURE_CODES)[number];
/** Every code a report can carry. */
export type ReportedCode = InstallErrorCode | ConfigErrorCode | 'internal';

/**
 * A config the patcher will not extend (invalid, ambiguous, a conflicting handler) is the
 * node's to fix; the patcher's self-check failing (`verification-failed`) is ours.
 */
const CONFIG_REFUSALS: readonly ConfigErrorCode[] = CONFIG_ERROR_CODES.filter(
  (code) => code !== 'verification-failed',
);

export function errorKind(code: ReportedCode): 'refused' | 'failed' {
  const refusals: readonly string[] = [...REFUSAL_CODES, ...CONFIG_REFUSALS];
  return refusals.includes(code) ? 'refused' : 'failed';
}

/** The code to report for anything an operation threw. */
export function reportedCode(err: unknown): ReportedCode {
  return err instanceof InstallError || err instanceof ConfigError ? err.code : 'internal';
}

/** A refusal or failure of install/uninstall, with a stable code for the report and Events. */
export class InstallError extends Error {
  readonly code: InstallErrorCode;
  /** Set when the node's previous config was put back after this failure. */
  rolledBack = false;
  /** Set when containerd was restarted (onto the restored config) before this was reported. */
  restarted = false;
  constructor(code: InstallErrorCode, message: string) {
    super(message);
    this.name = 'InstallError';
    this.code = code;
  }
}
