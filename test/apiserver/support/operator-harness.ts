import { Writable } from 'node:stream';
import { systemClock } from '../../../src/controller/clock.ts';
import type { Config, ConfigInput } from '../../../src/operator/config.ts';
import { createLogger } from '../../../src/operator/logger.ts';
import { Manager } from '../../../src/operator/manager.ts';
import { createMetrics, type Metrics } from '../../../src/operator/metrics.ts';
import { testConfig } from '../../../src/operator/testing/test-config.ts';
import { clientNodeDeps } from '../../../src/operator/wiring.ts';
import { waitFor } from '../../support/wait.ts';
import type { TestCluster } from './test-cluster.ts';

export interface RunningOperator {
  manager: Manager;
  metrics: Metrics;
  config: Config;
  /** JSON log lines, for assertions and for dumping when a test fails. */
  logs: string[];
  stop(): Promise<void>;
}

/** A log sink that keeps every line (OPERATOR_LOGS=1 streams them while debugging a test). */
function logSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      if (process.env.OPERATOR_LOGS) process.stderr.write(chunk);
      done();
    },
  });
}

/** Runs the operator's Manager in-process against the test cluster, as main.ts wires it. */
export async function startOperator(
  c: TestCluster,
  overrides: ConfigInput = {},
  identity = 'operator-a',
): Promise<RunningOperator> {
  const config = testConfig(overrides);
  const logs: string[] = [];
  const metrics = createMetrics();
  const manager = new Manager({
    ...clientNodeDeps(c.kc, config, { identity, clock: systemClock }),
    config,
    clock: systemClock,
    log: createLogger(config.logLevel, logSink(logs)).child({ identity }),
    metrics,
    identity,
  });
  await manager.start();
  try {
    await waitFor('operator caches to sync', () => manager.ready, {
      timeoutMs: 20_000,
      diagnostics: () => logs.slice(-20).join('\n'),
    });
  } catch (err) {
    // A half-started operator must not keep running into the next test.
    await manager.stop();
    throw err;
  }
  let stopped = false;
  return {
    manager,
    metrics,
    config,
    logs,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await manager.stop();
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
