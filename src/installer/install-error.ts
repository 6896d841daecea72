/** A refusal or failure of install/uninstall, with a stable code for the report and Events. */
export class InstallError extends Error {
  readonly code: string;
  /** Set when the node's previous config was put back after this failure. */
  rolledBack = false;
  /** Set when containerd was restarted (onto the restored config) before this was reported. */
  restarted = false;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'InstallError';
    this.code = code;
  }
}
