/**
 * Why a containerd config cannot be changed. Every refusal carries one stable code (for the
 * installer's report and the operator's Events) and a one-line message that says what to do.
 */
export const CONFIG_ERROR_CODES = [
  'invalid-toml',
  'unsupported-version',
  'ambiguous-namespace',
  'handler-conflict',
  'not-extendable',
  'malformed-block',
  'verification-failed',
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
  }
}
