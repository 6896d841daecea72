/** The process edges a command needs, passed in so commands run in-process under test. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readFile: (path: string) => Promise<string>;
}

/** Bad invocation: exit 2, like other Unix tools; a refusal of valid input exits 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
