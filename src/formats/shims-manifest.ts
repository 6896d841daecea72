import * as z from 'zod';

/**
 * The checksum manifest shipped in the installer image next to the binaries it lists
 * (`<shims-dir>/manifest.json`, binaries at `<shims-dir>/<binary>`). The installer copies a
 * binary to a node only when its bytes hash to the sha256 written here at image build time.
 */
export const SHIMS_MANIFEST_SCHEMA = 'wasm-node.dev/shims/v1';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
// Relative, no `..`, no empty or dot segments: a bundle cannot write outside its directory.
const RelativePath = z
  .string()
  .regex(
    /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)*$/,
    'must be a plain relative path',
  );

/**
 * A runtime that needs more than one file on the node: crun with the glibc and libwasmedge it
 * was built against. The files live in `<shims-dir>/<dir>/`; the runtime's binary is
 * `bin/<binary>` among them. The entry's sha256 is that of the sha256sum-style listing
 * (`<sha256>  <path>\n` per file, in this order), so it names the whole bundle.
 */
const Bundle = z.object({
  dir: z.string().regex(/^[A-Za-z0-9._-]+$/),
  /** Stands for the install root inside the files listed in `relocate` (see relocate.ts). */
  placeholder: z
    .string()
    .regex(/^\/[A-Za-z0-9_/-]{63,}$/, 'must be an absolute path of 64+ characters'),
  files: z
    .array(
      z.object({ path: RelativePath, sha256: Sha256, mode: z.number().int().min(0).max(0o777) }),
    )
    .min(1),
  relocate: z.array(RelativePath).default([]),
});

export const ShippedRuntimeSchema = z.object({
  name: z.string(),
  version: z.string(),
  binary: z.string().regex(/^[A-Za-z0-9._-]+$/),
  sha256: Sha256,
  bundle: Bundle.optional(),
});

export const ShimsManifestSchema = z.object({
  schema: z.literal(SHIMS_MANIFEST_SCHEMA),
  runtimes: z.array(ShippedRuntimeSchema),
});

export type ShimsManifest = z.infer<typeof ShimsManifestSchema>;
export type ShippedRuntime = z.infer<typeof ShippedRuntimeSchema>;
export type ShippedBundle = z.infer<typeof Bundle>;

/** The listing whose sha256 names a bundle: one sha256sum line per file. */
export function bundleListing(files: ShippedBundle['files']): string {
  return files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
}
