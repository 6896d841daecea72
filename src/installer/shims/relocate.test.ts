import { describe, expect, it } from '@jest/globals';
import { relocate } from './relocate.ts';

const P = `/wasm-node-bundle-root${'_'.repeat(64)}`;
const cstrings = (b: Buffer) => b.toString('latin1').split('\0');

describe('relocate', () => {
  it('rewrites every C string that starts with the placeholder, keeping suffix and slot size', () => {
    const input = Buffer.from(`\x7fELF\0${P}/lib/ld-linux-x86-64.so.2\0libc.so.6\0${P}/lib\0`);
    const out = relocate(input, P, '/opt/wasm-node/bin/0123456789abcdef');
    expect(out.length).toBe(input.length);
    expect(cstrings(out).filter((s) => s !== '')).toEqual([
      '\x7fELF',
      '/opt/wasm-node/bin/0123456789abcdef/lib/ld-linux-x86-64.so.2',
      'libc.so.6',
      '/opt/wasm-node/bin/0123456789abcdef/lib',
    ]);
    // the untouched strings stay at their offsets
    expect(out.indexOf('libc.so.6')).toBe(input.indexOf('libc.so.6'));
  });

  it('leaves a file without the placeholder byte for byte', () => {
    const input = Buffer.from('no placeholder here\0');
    expect(relocate(input, P, '/x').equals(input)).toBe(true);
  });

  it('refuses a root longer than the reserved placeholder, naming both lengths', () => {
    const long = `/${'d'.repeat(P.length)}`;
    expect(() => relocate(Buffer.from(`${P}/lib\0`), P, long)).toThrow(
      `is ${long.length} bytes, longer than the ${P.length} bytes the bundle reserves`,
    );
  });

  it('refuses a placeholder that is not NUL-terminated (not a string it can rewrite)', () => {
    expect(() => relocate(Buffer.from(`xx${P}/lib`), P, '/opt')).toThrow(
      'the placeholder at byte 2 is not in a C string',
    );
  });
});
