import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';

/**
 * installer-image/versions.json: the published release artifact of every catalog runtime per
 * image architecture, pinned by sha256. The installer image build downloads and verifies them
 * (fetch-shims.ts); nothing unpinned gets into an image.
 */
export const SHIM_VERSIONS_SCHEMA = 'wasm-node.dev/shim-versions/v1';
export const SHIM_VERSIONS_PATH = new URL('../../installer-image/versions.json', import.meta.url);

/** Docker's TARGETARCH names, the architectures the installer image is built for. */
export const ARCHES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

/** The sha256 of empty input: what a checksum of a failed download looks like. */
const EMPTY_INPUT_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const Sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
  .refine((s) => s !== EMPTY_INPUT_SHA256, 'is the sha256 of empty input, not of a release asset');

const Artifact = z
  .strictObject({
    url: z.url({ protocol: /^https$/ }),
    /** null: no trustworthy checksum yet; the image build refuses the artifact. */
    sha256: Sha256.nullable(),
    /** Where the checksum comes from, or (starting with MISSING) why there is none. */
    checksumSource: z.string().min(1),
  })
  .refine((a) => (a.sha256 === null) === a.checksumSource.startsWith('MISSING'), {
    message: 'checksumSource starts with "MISSING" exactly when sha256 is null',
  });
export type Artifact = z.infer<typeof Artifact>;

const RuntimeVersions = z.strictObject({
  version: z.string().min(1),
  release: z.url({ protocol: /^https$/ }),
  /**
   * Set when the image builds this runtime into a bundle (a binary with its libraries, see
   * src/formats/shims-manifest.ts) rather than downloading a release: the artifacts are then
   * the pinned main package, and `debianPackages` the other packages installed with it.
   */
  bundle: z
    .strictObject({
      how: z.string().min(1),
      debianPackages: z.record(z.string(), z.string().min(1)),
    })
    .optional(),
  artifacts: z.strictObject({ amd64: Artifact, arm64: Artifact }),
});
export type RuntimeVersions = z.infer<typeof RuntimeVersions>;

export const ShimVersionsSchema = z.strictObject({
  schema: z.literal(SHIM_VERSIONS_SCHEMA),
  note: z.string(),
  // An enum-keyed record is exhaustive: every catalog runtime must have an entry.
  runtimes: z.record(z.enum(RUNTIME_NAMES as [string, ...string[]]), RuntimeVersions),
});
export type ShimVersions = z.infer<typeof ShimVersionsSchema>;

export function parseShimVersions(input: unknown): ShimVersions {
  const result = ShimVersionsSchema.safeParse(input);
  if (!result.success)
    throw new Error(`invalid shim versions file:\n${z.prettifyError(result.error)}`);
  return result.data;
}

export async function loadShimVersions(
  path: URL | string = SHIM_VERSIONS_PATH,
): Promise<ShimVersions> {
  return parseShimVersions(JSON.parse(await readFile(path, 'utf8')));
}
