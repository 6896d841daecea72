import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout (or the given stream); the one place a root logger is made. */
export function createLogger(level: string, stream?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { component: 'wasm-node-operator' } }, stream ?? process.stdout);
}
