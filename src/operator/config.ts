import * as z from 'zod';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { Duration } from './duration.ts';
import { parseLabelSelector } from './label-selector.ts';

const Quantity = z.union([z.string(), z.number()]).transform(String);
const ResourceList = z.record(z.string(), Quantity);

const Toleration = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

const backoff = (initial: string, max: string) =>
  z.object({ initial: Duration.prefault(initial), max: Duration.prefault(max) }).prefault({});

/**
 * The operator's whole configuration. The Helm chart mounts it as a YAML file (`--config`);
 * env variables and `--set path=value` flags override single fields (see load-config.ts).
 * Durations accept "500ms" / "30s" / "5m" / "1h" or a number of seconds, and parse to ms.
 */
export const ConfigSchema = z.object({
  /** Namespace of the installer Jobs and the leader Lease (env POD_NAMESPACE). */
  namespace: z.string().min(1).default('wasm-node-system'),
  /** Runtimes installed on every opted-in node, one RuntimeClass each (catalog names). */
  runtimes: z
    .array(z.enum(RUNTIME_NAMES as [string, ...string[]]))
    .min(1)
    .default(['wasmtime', 'spin'])
    .transform((names) => [...new Set(names)]),
  optIn: z
    .object({
      /** Node annotation key; value `true` opts in, `false` opts out (even under auto/selector). */
      annotation: z.string().min(1).default('wasm-node'),
      /** Nodes matching this label selector are opted in too ("" = off). */
      labelSelector: z
        .string()
        .default('')
        .refine(
          (s) => {
            try {
              parseLabelSelector(s);
              return true;
            } catch {
              return false;
            }
          },
          { message: 'invalid label selector' },
        ),
      /** Every node is opted in unless annotated `false`. */
      autoProvision: z.boolean().default(false),
    })
    .prefault({}),
  installer: z
    .object({
      image: z.string().min(1).default('ghcr.io/wasm-node/wasm-node-installer:0.1.0'),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      imagePullSecrets: z.array(z.string()).default([]),
      serviceAccountName: z.string().optional(),
      /** Passed as `--restart-command`, for distros whose containerd restart is unusual. */
      restartCommand: z.string().optional(),
      /** Passed as `--bin-dir`: where shims go on the host (e.g. read-only /opt on COS). */
      binDir: z.string().optional(),
      priorityClassName: z.string().default('system-node-critical'),
      /** Pod retries inside one Job; 0 because the operator retries with its own backoff. */
      backoffLimit: z.number().int().nonnegative().default(0),
      activeDeadline: Duration.prefault('10m'),
      /** Finished Jobs are deleted by the operator once recorded; this is the fallback. */
      ttlAfterFinished: Duration.prefault('1h'),
      resources: z
        .object({
          requests: ResourceList.default({ cpu: '50m', memory: '64Mi' }),
          limits: ResourceList.default({ memory: '256Mi' }),
        })
        .prefault({}),
    })
    .prefault({}),
  rollout: z
    .object({
      /** Installer Jobs running at once (each restarts containerd): a count or "N%" of opted-in nodes. */
      maxConcurrentInstalls: z
        .union([z.number().int().positive(), z.string().regex(/^([1-9][0-9]?|100)%$/)])
        .default('10%'),
      /** Failed nodes (for the current desired state) that pause the rollout; 0 = never pause. */
      failureBudget: z.number().int().nonnegative().default(3),
      /** Retry backoff of a failed node: initial, doubling up to max. */
      retryBackoff: backoff('30s', '1h'),
      /** Re-run the (idempotent) installer on ready nodes this often to repair drift; 0 = off. */
      reverifyInterval: Duration.prefault('1h'),
    })
    .prefault({}),
  runtimeClass: z
    .object({
      /** Added to every RuntimeClass's scheduling.tolerations, e.g. for dedicated Wasm nodes. */
      tolerations: z.array(Toleration).default([]),
      /** RuntimeClass overhead.podFixed, e.g. { memory: 16Mi }. */
      overhead: ResourceList.optional(),
    })
    .prefault({}),
  leaderElection: z
    .object({
      enabled: z.boolean().default(true),
      leaseName: z.string().default('wasm-node-operator'),
      leaseDuration: Duration.prefault('15s'),
      renewDeadline: Duration.prefault('10s'),
      retryPeriod: Duration.prefault('2s'),
    })
    .prefault({})
    .refine((le) => le.renewDeadline < le.leaseDuration && le.retryPeriod < le.renewDeadline, {
      message: 'need retryPeriod < renewDeadline < leaseDuration',
    }),
  watch: z
    .object({
      /** Server-side watch timeout; the watch then resumes from its resourceVersion. */
      timeout: Duration.prefault('5m'),
      /** Every cached node is re-queued this often (level-triggered safety net). */
      resync: Duration.prefault('10m'),
      restartBackoff: backoff('1s', '30s'),
      /**
       * List and watch Nodes as PartialObjectMetadata: the operator reads only metadata, and a
       * full Node (status.images, conditions) is many times larger. See docs/benchmarks.md.
       */
      nodeMetadataOnly: z.boolean().default(true),
    })
    .prefault({}),
  queue: z
    .object({
      workers: z.number().int().positive().default(4),
      backoff: backoff('200ms', '5m'),
    })
    .prefault({}),
  events: z
    .object({
      /** Namespace of Events about Nodes (cluster-scoped objects): kubelet uses `default`. */
      namespace: z.string().default('default'),
      /** Identical Events (object, reason, message) are not repeated within this window. */
      dedupeWindow: Duration.prefault('10m'),
    })
    .prefault({}),
  server: z
    .object({
      host: z.string().default('0.0.0.0'),
      /** /healthz, /readyz, /metrics; 0 picks a free port (tests). */
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
});

export type Config = z.infer<typeof ConfigSchema>;
/** What a YAML file or a test may write: every field optional, durations as strings. */
export type ConfigInput = z.input<typeof ConfigSchema>;

export function parseConfig(input: unknown): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new Error(`invalid configuration:\n${z.prettifyError(result.error)}`);
  return result.data;
}

/** Resolves maxConcurrentInstalls against the number of opted-in nodes; never below 1. */
export function concurrencyLimit(spec: number | string, optedIn: number): number {
  if (typeof spec === 'number') return spec;
  const percent = Number(spec.slice(0, -1));
  return Math.max(1, Math.floor((optedIn * percent) / 100));
}
