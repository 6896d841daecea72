/**
 * A bundled runtime built against its own libraries (crun with the glibc and libwasmedge it
 * was built with) names its ELF interpreter and library path by absolute path, and crun
 * re-executes itself from a memfd copy, where a $ORIGIN-relative path would not resolve. The
 * bundle is therefore built with a placeholder root in those strings, and the installer writes
 * the real root into them. Each string is a NUL-terminated C string in a fixed-size slot: the
 * rewritten string keeps the suffix after the placeholder and is padded with NULs, so it must
 * not be longer than the original.
 */
export function relocate(bytes: Buffer, placeholder: string, root: string): Buffer {
  const from = Buffer.from(placeholder);
  const to = Buffer.from(root);
  if (to.length > from.length) {
    throw new RangeError(
      `the install path ${root} is ${to.length} bytes, longer than the ${from.length} bytes the bundle reserves for it; choose a shorter --bin-dir`,
    );
  }
  const out = Buffer.from(bytes);
  for (let at = out.indexOf(from); at !== -1; at = out.indexOf(from, at + from.length)) {
    const end = out.indexOf(0, at);
    if (end === -1) throw new Error(`the placeholder at byte ${at} is not in a C string`);
    const rewritten = Buffer.concat([to, bytes.subarray(at + from.length, end)]);
    out.fill(0, at, end);
    rewritten.copy(out, at);
  }
  return out;
}
