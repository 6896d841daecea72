import { Writable } from 'node:stream';
import { clientNodePort } from '../../../src/kube/client-node-port.ts';
import { systemClock } from '../../../src/operator/clock.ts';
import { parseConfig, type Config, type ConfigInput } from '../../../src/operator/config.ts';
import { createLogger } from '../../../src/operator/logger.ts';
import { createMetrics, type Metrics } from '../../../src/operator/metrics.ts';
import { Operator } from '../../../src/operator/operator.ts';
import { waitFor } from '../../support/wait.ts';
import { NAMESPACE, type TestCluster } from './cluster.ts';

/** Durations short enough for tests, long enough to be realistic about ordering. */
export function testConfig(overrides: ConfigInput = {}): Config {
  const base: ConfigInput = {
    namespace: NAMESPACE,
    installer: { image: 'wasm-node-installer:test' },
    rollout: {
      maxConcurrentInstalls: 5,
      failureBudget: 0,
      retryBackoff: { initial: '1s', max: '4s' },
      reverifyInterval: 0,
    },
    leaderElection: { leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '500ms' },
    watch: { restartBackoff: { initial: '200ms', max: '2s' } },
    queue: { backoff: { initial: '100ms', max: '2s' } },
    logLevel: 'debug',
  };
  return parseConfig(merge(base, overrides));
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export interface RunningOperator {
  operator: Operator;
  metrics: Metrics;
  config: Config;
  /** JSON log lines, for assertions and for dumping when a test fails. */
  logs: string[];
  stop(): Promise<void>;
}

/** Runs the operator in-process against the test cluster, with injected config and logger. */
export async function startOperator(
  c: TestCluster,
  overrides: ConfigInput = {},
  identity = 'operator-a',
): Promise<RunningOperator> {
  const config = testConfig(overrides);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      // OPERATOR_LOGS=1 streams the operator's logs while debugging a test.
      if (process.env.OPERATOR_LOGS) process.stderr.write(chunk);
      done();
    },
  });
  const metrics = createMetrics();
  const operator = new Operator({
    config,
    kc: c.kc,
    kube: clientNodePort(c.kc, identity),
    clock: systemClock,
    log: createLogger(config.logLevel, sink).child({ identity }),
    metrics,
    identity,
  });
  operator.start();
  try {
    await waitFor('operator caches to sync', () => operator.ready, {
      timeoutMs: 20_000,
      diagnostics: () => logs.slice(-20).join('\n'),
    });
  } catch (err) {
    // A half-started operator must not keep running into the next test.
    await operator.stop();
    throw err;
  }
  let stopped = false;
  return {
    operator,
    metrics,
    config,
    logs,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await operator.stop();
    },
  };
}

/** Current value of a metric (summed over label sets matching `labels`); histogram parts by full name. */
export async function metricValue(
  metrics: Metrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const all = await metrics.registry.getMetricsAsJSON();
  const metric = all.find((m) => m.name === name || name.startsWith(`${m.name}_`));
  if (!metric) return 0;
  return (
    metric.values as {
      value: number;
      metricName?: string;
      labels: Record<string, string | number>;
    }[]
  )
    .filter((v) => (v.metricName ?? metric.name) === name)
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
