import * as z from 'zod';
import { ConfigSchema, InstallerSchema, ResourceList, ServerSchema } from '../operator/config.ts';

// The chart's values: what only the chart has (images, pod settings, RBAC subjects…) plus
// `config`, the operator's ConfigSchema itself. values.schema.json is generated from this
// (npm run manifests); chart-values.test.ts fails when the file drifted.

const StringMap = z.record(z.string(), z.string());
const Resources = z.strictObject({
  requests: ResourceList.optional(),
  limits: ResourceList.optional(),
});

const imageRef = (what: string) =>
  z
    .strictObject({
      repository: z
        .string()
        .min(1)
        .regex(/^[a-z0-9]+([._/:-][a-z0-9]+)*$/)
        .describe('registry/path without tag or digest'),
      tag: z
        .string()
        .regex(/^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
        .optional()
        .describe("defaults to the chart's appVersion"),
      digest: z
        .string()
        .regex(/^$|^sha256:[a-f0-9]{64}$/)
        .optional()
        .describe('sha256:<64 lowercase hex>; pins the image'),
    })
    .describe(what);

const GoDuration = z.string().regex(/^([0-9]+(ms|s|m|h))+$/);

/**
 * The operator config as the chart takes it: the release namespace and the installer image
 * are set by the chart, and the health port must be a real one (it is the container port).
 */
const ChartConfig = ConfigSchema.omit({ namespace: true })
  .extend({
    installer: InstallerSchema.omit({ image: true }).optional(),
    server: ServerSchema.extend({ port: z.number().int().min(1).max(65535).optional() }).optional(),
  })
  .describe("the operator's config file (src/operator/config.ts, docs/operator-reference.md)");

export const ChartValuesSchema = z.strictObject({
  replicas: z.number().int().min(0).describe('more than one needs config.leaderElection.enabled'),
  image: imageRef('the operator image').extend({
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  }),
  installerImage: imageRef(
    'the installer image (shims inside); rendered into config.installer.image',
  ),
  imagePullSecrets: z.array(z.strictObject({ name: z.string().min(1) })),
  serviceAccount: z.strictObject({
    create: z.boolean().optional(),
    name: z.string().optional(),
    annotations: StringMap.optional(),
  }),
  namespace: z.strictObject({ create: z.boolean().optional(), labels: StringMap.optional() }),
  installerQuota: z
    .strictObject({
      enabled: z.boolean().optional(),
      pods: z
        .union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]*(k|M|G)?$/)])
        .optional(),
    })
    .describe(
      "a ResourceQuota for the installer's PriorityClass: GKE admits system-node-critical pods only under one",
    ),
  podAnnotations: StringMap,
  podLabels: StringMap,
  resources: Resources,
  nodeSelector: StringMap,
  tolerations: z.array(z.looseObject({})),
  affinity: z.looseObject({}),
  priorityClassName: z.string(),
  hostNetwork: z.boolean().describe('for clusters without a Service network; see values.yaml'),
  env: z.array(z.looseObject({ name: z.string().min(1) })),
  podDisruptionBudget: z.strictObject({
    minAvailable: z.union([z.number().int().min(0), z.string().regex(/^[0-9]+%$/)]).optional(),
  }),
  metrics: z.strictObject({
    serviceMonitor: z
      .strictObject({
        enabled: z.boolean().optional(),
        interval: GoDuration.optional(),
        scrapeTimeout: GoDuration.optional(),
        labels: StringMap.optional(),
      })
      .optional(),
  }),
  config: ChartConfig,
});

/** values.schema.json: draft-07 (what every Helm 3 release validates), stable key order. */
export function renderValuesSchema(): string {
  const schema = z.toJSONSchema(ChartValuesSchema.partial(), {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  });
  const { $schema, ...rest } = schema as Record<string, unknown>;
  return `${JSON.stringify({ $schema, title: 'wasm-node-operator chart values', ...rest }, null, 2)}\n`;
}
