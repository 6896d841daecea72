import * as z from 'zod';

/**
 * The Wasm runtimes this product can put on a node. One entry is one RuntimeClass whose name
 * is also the containerd handler name, so pods say `runtimeClassName: <name>`.
 */
export const RuntimeSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label'),
    description: z.string(),
    /** File name of the binary we ship and install for this runtime. */
    binary: z.string().regex(/^[A-Za-z0-9._-]+$/),
    runtimeType: z.string().regex(/^io\.containerd\.[a-z0-9-]+\.v[0-9]+$/),
    /**
     * `shim`: the binary is a containerd shim, found through `runtime_path`.
     * `runc-binary`: the runc shim drives our binary as its OCI runtime (crun), through
     * `options.BinaryName`; runc's shim is already on every node.
     */
    launch: z.enum(['shim', 'runc-binary']),
    /** Pod annotations containerd must pass through to the OCI spec (crun reads its Wasm variant there). */
    podAnnotations: z.array(z.string()).default([]),
  })
  .readonly();

export type Runtime = z.infer<typeof RuntimeSchema>;

const catalog = z.array(RuntimeSchema).parse([
  {
    name: 'wasmtime',
    description: 'runwasi containerd-shim-wasmtime (WASI preview 1 and 2, components)',
    binary: 'containerd-shim-wasmtime-v1',
    runtimeType: 'io.containerd.wasmtime.v1',
    launch: 'shim',
  },
  {
    name: 'wasmedge',
    description: 'runwasi containerd-shim-wasmedge',
    binary: 'containerd-shim-wasmedge-v1',
    runtimeType: 'io.containerd.wasmedge.v1',
    launch: 'shim',
  },
  {
    name: 'wasmer',
    description: 'runwasi containerd-shim-wasmer',
    binary: 'containerd-shim-wasmer-v1',
    runtimeType: 'io.containerd.wasmer.v1',
    launch: 'shim',
  },
  {
    name: 'spin',
    description: 'Spin applications (containerd-shim-spin)',
    binary: 'containerd-shim-spin-v2',
    runtimeType: 'io.containerd.spin.v2',
    launch: 'shim',
  },
  {
    name: 'crun-wasm',
    description:
      'crun with its Wasm handler; pods opt in with the module.wasm.image/variant=compat-smart annotation',
    binary: 'crun',
    runtimeType: 'io.containerd.runc.v2',
    launch: 'runc-binary',
    podAnnotations: ['module.wasm.image/variant', 'run.oci.handler'],
  },
]);

export const RUNTIMES: readonly Runtime[] = catalog;
export const RUNTIME_NAMES = catalog.map((r) => r.name);

export class UnknownRuntimeError extends Error {
  readonly names: string[];
  constructor(names: string[]) {
    super(
      `unknown runtime ${names.map((n) => `"${n}"`).join(', ')}; known runtimes: ${RUNTIME_NAMES.join(', ')}`,
    );
    this.name = 'UnknownRuntimeError';
    this.names = names;
  }
}

/** Resolves names to catalog entries, in catalog order, without duplicates. */
export function resolveRuntimes(names: readonly string[]): Runtime[] {
  const unknown = names.filter((n) => !RUNTIME_NAMES.includes(n));
  if (unknown.length > 0) throw new UnknownRuntimeError(unknown);
  return catalog.filter((r) => names.includes(r.name));
}
