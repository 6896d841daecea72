import * as z from 'zod';

/**
 * What the installer writes to its termination message (one JSON line, the kubelet keeps at
 * most 4096 bytes of it) and the operator reads from the pod status. Versioned so an operator
 * never misreads an installer of another release.
 */
export const INSTALL_REPORT_SCHEMA = 'wasm-node.dev/install-report/v1';

export const RuntimeReportSchema = z.object({
  name: z.string(),
  /** Version of the shipped binary, from the image's checksum manifest. */
  version: z.string().optional(),
  sha256: z.string().optional(),
  /** Host path the containerd config points at. */
  path: z.string().optional(),
  /** The handler was seen registered through containerd's CRI after the (re)start. */
  verified: z.boolean(),
  /** The handler already existed outside our block (e.g. k3s auto-detection) and was kept. */
  adopted: z.boolean().default(false),
});

export const InstallReportSchema = z.object({
  schema: z.literal(INSTALL_REPORT_SCHEMA),
  operation: z.enum(['install', 'uninstall', 'status']),
  ok: z.boolean(),
  runtimes: z.array(RuntimeReportSchema),
  flavour: z.string().optional(),
  configPath: z.string().optional(),
  changed: z.boolean(),
  restarted: z.boolean(),
  rolledBack: z.boolean().default(false),
  durationMs: z.number().int().nonnegative(),
  /**
   * The node's /proc/sys/kernel/random/boot_id when the report was written: the operator
   * compares it with the Node's status.nodeInfo.bootID to notice a reboot (or re-image) since
   * the last verification, after which the containerd config may have been regenerated.
   */
  bootId: z.string().optional(),
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      /**
       * `refused`: the installer changed nothing because this node cannot take the runtimes
       * as it is (immutable OS, no containerd, cgroups crun rejects, no known service
       * manager…). Such nodes are `unsupported`, not failures: they do not spend the rollout's
       * failure budget. `failed`: anything else.
       */
      kind: z.enum(['refused', 'failed']).default('failed'),
    })
    .optional(),
});

export type RuntimeReport = z.infer<typeof RuntimeReportSchema>;
export type InstallReport = z.infer<typeof InstallReportSchema>;

/** Parses a termination message; returns an error string rather than throwing, for Events. */
export function parseInstallReport(
  text: string,
): { ok: true; report: InstallReport } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `termination message is not JSON: ${text.slice(0, 200)}` };
  }
  const parsed = InstallReportSchema.safeParse(json);
  return parsed.success
    ? { ok: true, report: parsed.data }
    : {
        ok: false,
        error: `termination message is not an install report: ${z.prettifyError(parsed.error)}`,
      };
}
