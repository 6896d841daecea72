import { ConfigError } from './config-error.ts';

/**
 * The part of a containerd config that belongs to us: marker-comment lines around our runtime
 * tables, appended at the end of the file. Everything outside the markers stays byte for byte,
 * so removing the block gives back the original file exactly.
 */
export const BEGIN_MARKER = '# BEGIN wasm-node-operator managed block';
export const END_MARKER = '# END wasm-node-operator managed block';
const BEGIN_LINE = `${BEGIN_MARKER}: rewritten by wasm-node-installer, do not edit`;

export interface SplitConfig {
  /** The file without our block. */
  base: string;
  /** Offset in `base` where the block sat (or the end of `base` when there was none). */
  at: number;
  /** The block's own text (separator included), or undefined when there is none. */
  block: string | undefined;
}

/** The file's line ending, so our lines match a CRLF file. */
export function lineEnding(text: string): '\n' | '\r\n' {
  const lf = text.indexOf('\n');
  return lf > 0 && text[lf - 1] === '\r' ? '\r\n' : '\n';
}

function markerLines(text: string, marker: string): number[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos <= text.length) {
    const eol = text.indexOf('\n', pos);
    const end = eol === -1 ? text.length : eol;
    if (text.slice(pos, end).trim().startsWith(marker)) starts.push(pos);
    if (eol === -1) break;
    pos = eol + 1;
  }
  return starts;
}

export function splitManagedBlock(text: string): SplitConfig {
  const begins = markerLines(text, BEGIN_MARKER);
  const ends = markerLines(text, END_MARKER);
  if (begins.length === 0 && ends.length === 0)
    return { base: text, at: text.length, block: undefined };
  const [begin] = begins;
  const [end] = ends;
  if (
    begins.length !== 1 ||
    ends.length !== 1 ||
    begin === undefined ||
    end === undefined ||
    end < begin
  ) {
    throw new ConfigError(
      'malformed-block',
      `found ${begins.length} "${BEGIN_MARKER}" and ${ends.length} "${END_MARKER}" lines; expected one pair in that order. Remove the broken markers and what lies between them by hand, then re-run`,
    );
  }
  // The line ending before BEGIN is the separator we added in front of the block.
  let start = begin;
  if (text[start - 1] === '\n') start -= text[start - 2] === '\r' ? 2 : 1;
  const eol = text.indexOf('\n', end);
  const stop = eol === -1 ? text.length : eol + 1;
  return {
    base: text.slice(0, start) + text.slice(stop),
    at: start,
    block: text.slice(start, stop),
  };
}

/** Puts `body` (TOML lines, no trailing line ending) inside markers at `at` in `base`. */
export function insertManagedBlock(base: string, at: number, body: string): string {
  const eol = lineEnding(base);
  const lines = [BEGIN_LINE, ...body.split('\n'), END_MARKER].join(eol) + eol;
  const separator = base.length === 0 ? '' : eol;
  return base.slice(0, at) + separator + lines + base.slice(at);
}
