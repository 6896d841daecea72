import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { systemClock } from '../controller/clock.ts';
import { countApiRequests } from '../kube/request-counter.ts';
import { loadConfig } from './load-config.ts';
import { createLogger } from './logger.ts';
import { Manager } from './manager.ts';
import { createMetrics } from './metrics.ts';
import { clientNodeDeps } from './wiring.ts';

const USAGE = `usage: node src/operator/main.ts [--config FILE] [--kubeconfig FILE] [--set path=value]...
  [--namespace NS] [--identity NAME] [--port N] [--log-level LEVEL]`;

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    kubeconfig: { type: 'string' },
    set: { type: 'string', multiple: true },
    namespace: { type: 'string' },
    identity: { type: 'string' },
    port: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// Dedicated flags are shorthands for --set; they win over file and env.
const sets = [
  ...(values.set ?? []),
  ...(values.namespace ? [`namespace=${values.namespace}`] : []),
  ...(values.port ? [`server.port=${values.port}`] : []),
  ...(values['log-level'] ? [`logLevel=${values['log-level']}`] : []),
];
const config = await loadConfig({ file: values.config, env: process.env, sets });
const log = createLogger(config.logLevel);

const kc = new KubeConfig();
if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
else kc.loadFromDefault();

const identity = values.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
const metrics = createMetrics();
// Here rather than in the Manager: the hook is process-wide, and tests run several managers.
countApiRequests((request) => metrics.apiRequests.inc({ ...request }));
const manager = new Manager({
  ...clientNodeDeps(kc, config, { identity, clock: systemClock }),
  config,
  clock: systemClock,
  log,
  metrics,
  identity,
});
await manager.start();
log.info(
  { port: manager.port, identity, namespace: config.namespace, runtimes: config.runtimes },
  'operator started',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  // Releasing the lease first lets a standby take over without waiting for expiry.
  await manager.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
