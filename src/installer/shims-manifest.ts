import * as z from 'zod';

/**
 * The checksum manifest shipped in the installer image next to the binaries it lists
 * (`<shims-dir>/manifest.json`, binaries at `<shims-dir>/<binary>`). The installer copies a
 * binary to a node only when its bytes hash to the sha256 written here at image build time.
 */
export const SHIMS_MANIFEST_SCHEMA = 'wasm-node.dev/shims/v1';

export const ShimsManifestSchema = z.object({
  schema: z.literal(SHIMS_MANIFEST_SCHEMA),
  runtimes: z.array(
    z.object({
      name: z.string(),
      version: z.string(),
      binary: z.string().regex(/^[A-Za-z0-9._-]+$/),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
    }),
  ),
});

export type ShimsManifest = z.infer<typeof ShimsManifestSchema>;
export type ShippedRuntime = ShimsManifest['runtimes'][number];
