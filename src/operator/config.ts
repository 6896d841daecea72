import * as z from 'zod';
import { RUNTIME_NAMES } from '../catalog/runtimes.ts';
import { parseLabelSelector } from '../kube/label-selector.ts';
import { Duration } from './duration.ts';

// Every field carries its description: docs/operator-reference.md's config table and the
// chart's values.schema.json are generated from this file (npm run manifests).

const Quantity = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/),
  ])
  .transform(String);
export const ResourceList = z.record(z.string(), Quantity);
/** An RFC 1123 label: namespaces and Lease names. */
export const DnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
/** A qualified annotation key (`prefix/name` or `name`). */
const AnnotationKey = z
  .string()
  .max(316)
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
  );

const Toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

const backoff = (initial: string, max: string, what: string) =>
  z
    .strictObject({
      initial: Duration.prefault(initial).describe('first delay'),
      max: Duration.prefault(max).describe('longest delay (it doubles up to this)'),
    })
    .prefault({})
    .describe(what);

const LabelSelector = z.string().refine(
  (s) => {
    try {
      parseLabelSelector(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'invalid label selector' },
);

export const OptInSchema = z.strictObject({
  annotation: AnnotationKey.default('wasm-node').describe(
    'node annotation: `"true"` opts in, `"false"` opts out (always wins)',
  ),
  labelSelector: LabelSelector.default('').describe(
    'nodes matching this label selector are opted in too (`""` = off)',
  ),
  autoProvision: z
    .boolean()
    .default(false)
    .describe('every node is opted in unless annotated `"false"`'),
});

export const InstallerSchema = z.strictObject({
  image: z
    .string()
    .min(1)
    .default('ghcr.io/wasm-node/wasm-node-installer:0.1.0')
    .describe('the installer image (the shims are in it); part of the desired-state hash'),
  imagePullPolicy: z
    .enum(['Always', 'IfNotPresent', 'Never'])
    .default('IfNotPresent')
    .describe('of the installer image'),
  imagePullSecrets: z.array(z.string().min(1)).default([]).describe('secret names'),
  serviceAccountName: z
    .string()
    .optional()
    .describe('of the installer pods (they get no API token either way)'),
  restartCommand: z
    .string()
    .optional()
    .describe('passed as `--restart-command` for unusual containerd restarts; part of the hash'),
  binDir: z
    .string()
    .regex(/^\//)
    .optional()
    .describe(
      'passed as `--bin-dir`: host directory of the shims (read-only /opt); part of the hash',
    ),
  priorityClassName: z
    .string()
    .default('system-node-critical')
    .describe(
      "of the installer pods, so a full node still admits them (GKE: see the chart's installerQuota)",
    ),
  backoffLimit: z
    .number()
    .int()
    .nonnegative()
    .default(0)
    .describe('pod retries inside one Job; the operator retries with its own backoff'),
  activeDeadline: Duration.prefault('10m').describe("the Job's activeDeadlineSeconds"),
  terminationGracePeriod: Duration.prefault('10m').describe(
    "the installer pod's grace period: on SIGTERM (a drain) the installer finishes or rolls back its containerd change, which with restarts and their timeouts can take minutes",
  ),
  ttlAfterFinished: Duration.prefault('1h').describe(
    'fallback: the operator deletes a finished Job once it has recorded it',
  ),
  resources: z
    .strictObject({
      requests: ResourceList.prefault({ cpu: '50m', memory: '64Mi' }),
      limits: ResourceList.prefault({ memory: '256Mi' }),
    })
    .prefault({})
    .describe('of the installer container'),
});

export const RolloutSchema = z.strictObject({
  maxConcurrentInstalls: z
    .union([z.number().int().positive(), z.string().regex(/^([1-9][0-9]?|100)%$/)])
    .default('10%')
    .describe(
      'installer Jobs at once (each restarts containerd): a count, or `N%` of opted-in nodes (at least 1); uninstalls count too',
    ),
  failureBudget: z
    .number()
    .int()
    .nonnegative()
    .default(3)
    .describe('failed nodes (for the current desired state) that pause new installs; `0` = never'),
  retryBackoff: backoff('30s', '1h', 'retry backoff of a failed node'),
  reverifyInterval: Duration.prefault('1h').describe(
    're-run the idempotent installer on ready nodes this often (drift repair); `0` = off',
  ),
});

export const LeaderElectionSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('`false`: the single replica leads at once (never with replicas > 1)'),
    leaseName: DnsLabel.default('wasm-node-operator').describe('the Lease in `namespace`'),
    leaseDuration: Duration.prefault('15s').describe(
      'a standby takes over a Lease not renewed for this long',
    ),
    renewDeadline: Duration.prefault('10s').describe(
      'a leader that cannot renew within it steps down',
    ),
    retryPeriod: Duration.prefault('2s').describe(
      'how often to try to acquire or renew; must be < renewDeadline < leaseDuration',
    ),
  })
  .refine((le) => le.renewDeadline < le.leaseDuration && le.retryPeriod < le.renewDeadline, {
    message: 'need retryPeriod < renewDeadline < leaseDuration',
  });

export const WatchSchema = z.strictObject({
  timeout: Duration.prefault('5m').describe(
    'server-side watch timeout (±10 %); the watch then resumes from its resourceVersion',
  ),
  resync: Duration.prefault('10m').describe('every cached node is re-queued this often'),
  restartBackoff: backoff('1s', '30s', 'informer restarts after watch or list errors'),
  nodeMetadataOnly: z
    .boolean()
    .default(true)
    .describe(
      'list and watch Nodes as PartialObjectMetadata (half the memory at 5,000 nodes, docs/benchmarks.md); `false` lists and watches whole Nodes',
    ),
});

export const ServerSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0').describe('address of the health and metrics server'),
  port: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('`/healthz`, `/readyz`, `/metrics`; 0 picks a free port (tests)'),
});

/**
 * The operator's whole configuration. The Helm chart mounts it as a YAML file (`--config`);
 * env variables and `--set path=value` flags override single fields (see load-config.ts).
 * Durations accept "500ms" / "30s" / "5m" / "1h" or a number of seconds, and parse to ms.
 * Unknown keys are refused: a misspelt field must not be ignored silently.
 */
export const ConfigSchema = z.strictObject({
  namespace: DnsLabel.default('wasm-node-system').describe(
    'installer Jobs and the Lease live here (env `POD_NAMESPACE`)',
  ),
  runtimes: z
    .array(z.enum(RUNTIME_NAMES as [string, ...string[]]))
    .min(1)
    .default(['wasmtime', 'spin'])
    .transform((names) => [...new Set(names)])
    .describe('installed on every opted-in node; one RuntimeClass each (catalog names)'),
  optIn: OptInSchema.prefault({}),
  installer: InstallerSchema.prefault({}),
  rollout: RolloutSchema.prefault({}),
  runtimeClass: z
    .strictObject({
      tolerations: z
        .array(Toleration)
        .default([])
        .describe("added to every RuntimeClass's `scheduling.tolerations` (dedicated Wasm nodes)"),
      overhead: ResourceList.optional().describe(
        'RuntimeClass `overhead.podFixed`, e.g. `{memory: 16Mi}`',
      ),
      adoptExisting: z
        .boolean()
        .default(false)
        .describe(
          "take over a RuntimeClass of the same name that someone else made (e.g. KWasm's `wasmtime`); `false` leaves it alone and posts a RuntimeClassConflict Event",
        ),
    })
    .prefault({}),
  uninstall: z
    .strictObject({
      warnAboutWasmPods: z
        .boolean()
        .default(false)
        .describe(
          "before removing runtimes, post a Warning listing the node's pods that still use them; needs read access to every pod (the chart grants it only then)",
        ),
    })
    .prefault({}),
  leaderElection: LeaderElectionSchema.prefault({}),
  watch: WatchSchema.prefault({}),
  queue: z
    .strictObject({
      workers: z.number().int().positive().default(4).describe('concurrent reconciles'),
      backoff: backoff('200ms', '5m', 'per-key retry after a reconcile error'),
    })
    .prefault({}),
  events: z
    .strictObject({
      namespace: DnsLabel.default('default').describe(
        'where Events about Nodes go (cluster-scoped objects; the kubelet uses `default`)',
      ),
      dedupeWindow: Duration.prefault('10m').describe(
        'identical Events (object, reason, message) are not repeated within it',
      ),
    })
    .prefault({}),
  requestTimeout: Duration.prefault('30s').describe(
    'every API call the operator makes gives up after this (watches have `watch.timeout`)',
  ),
  server: ServerSchema.prefault({}),
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
    .default('info')
    .describe('pino JSON logs to stdout'),
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
