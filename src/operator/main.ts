import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { systemClock } from '../controller/clock.ts';
import { kubeConnection } from '../kube/connection.ts';
import { apiRequestOf } from '../kube/request-counter.ts';
import { loadConfig } from './load-config.ts';
import { createLogger } from './logger.ts';
import { Manager } from './manager.ts';
import { createMetrics } from './metrics.ts';
import { apiDeps } from './wiring.ts';

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

const identity = values.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
const metrics = createMetrics();
const manager = new Manager({
  ...apiDeps(await kubeConnection({ kubeconfig: values.kubeconfig }), config, {
    identity,
    clock: systemClock,
    onRequest: (method, path, contentType) => {
      const request = apiRequestOf(method, path, contentType);
      if (request) metrics.apiRequests.inc({ ...request });
    },
  }),
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
