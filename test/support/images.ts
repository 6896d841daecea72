// The operator and installer images as users run them: built from the Dockerfile by
// scripts/images.sh (buildah, OCI archives, cached by the hash of their inputs). The tests, the
// local cluster and the demo take their images from here, so none is built another way.
import * as z from 'zod';
import { repoPath } from './repo.ts';
import { run, runCommand } from './run-command.ts';

export const IMAGE_VARIANTS = [
  'operator',
  'installer',
  'installer-corrupt',
  'installer-crun-wasm',
] as const;
export type ImageVariant = (typeof IMAGE_VARIANTS)[number];

const BuiltImageSchema = z.object({
  /** The name inside the archive, e.g. localhost/wasm-node-operator:e2e. */
  ref: z.string().min(1),
  /** OCI archive, for `ctr images import` (read-only: it is the build cache's). */
  archive: z.string().min(1),
  /** The image manifest's digest. */
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
});
export type BuiltImage = z.infer<typeof BuiltImageSchema>;

const ImagesDescriptionSchema = z.object({
  arch: z.enum(['amd64', 'arm64']),
  images: z.partialRecord(z.enum(IMAGE_VARIANTS), BuiltImageSchema),
});

/** A cold build compiles the test shim (Rust) first; warm, the whole call takes seconds. */
export const IMAGE_BUILD_TIMEOUT_MS = 60 * 60_000;

/**
 * Builds (or finds in the cache) the variants for this machine's architecture and describes
 * them. Build output streams to stderr when `progress` is set (cold builds take minutes).
 */
export async function buildImages<V extends ImageVariant>(
  variants: readonly V[],
  opts: { progress?: boolean } = {},
): Promise<Record<V, BuiltImage>> {
  const r = await runCommand('bash', [repoPath('scripts/images.sh'), ...variants], {
    timeoutMs: IMAGE_BUILD_TIMEOUT_MS,
    stderr: opts.progress === false ? 'pipe' : 'inherit',
  });
  if (r.code !== 0) {
    const tail = r.stderr.trim().split('\n').slice(-40).join('\n');
    throw new Error(
      `scripts/images.sh ${variants.join(' ')} failed (${r.code ?? r.signal})\n${tail}`,
    );
  }
  const { images } = ImagesDescriptionSchema.parse(JSON.parse(r.stdout));
  return Object.fromEntries(
    variants.map((v) => {
      const image = images[v];
      if (!image) throw new Error(`scripts/images.sh did not describe ${v}`);
      return [v, image];
    }),
  ) as Record<V, BuiltImage>;
}

/** `ref` as a chart's `image:` value: repository and tag. */
export function repositoryAndTag(ref: string): { repository: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

const OciConfigSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  config: z.object({
    User: z.string().optional(),
    Entrypoint: z.array(z.string()).optional(),
    Cmd: z.array(z.string()).nullish(),
    Env: z.array(z.string()).optional(),
    Labels: z.record(z.string(), z.string()).optional(),
    Healthcheck: z.unknown().optional(),
  }),
});
export type OciConfig = z.infer<typeof OciConfigSchema>;

/** The image config (user, entrypoint, labels...) of the one image in an OCI archive. */
export async function imageConfig(archive: string): Promise<OciConfig> {
  const blob = async (file: string) => JSON.parse(await run('tar', ['-xOf', archive, file]));
  const path = (digest: string) => `blobs/${digest.replace(':', '/')}`;
  const index = z
    .object({ manifests: z.array(z.object({ digest: z.string() })).length(1) })
    .parse(await blob('index.json'));
  const manifest = z
    .object({ config: z.object({ digest: z.string() }) })
    .parse(await blob(path(index.manifests[0]!.digest)));
  return OciConfigSchema.parse(await blob(path(manifest.config.digest)));
}
