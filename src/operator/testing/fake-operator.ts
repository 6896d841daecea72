import { pino } from 'pino';
import type { Counter } from 'prom-client';
import { FakeClock } from '../../controller/testing/fake-clock.ts';
import { FakeCluster } from '../../kube/testing/fake-cluster.ts';
import type { ConfigInput } from '../config.ts';
import { keepAnnotation } from '../keys.ts';
import { Manager } from '../manager.ts';
import { createMetrics } from '../metrics.ts';
import { testConfig } from './test-config.ts';

/** An in-memory cluster and a clock that only moves when the test says so. */
export function fakeWorld(): { cluster: FakeCluster; clock: FakeClock } {
  return { cluster: new FakeCluster(keepAnnotation('wasm-node')), clock: new FakeClock() };
}

/** A Manager wired to the fake cluster as main.ts wires it to client-node. */
export function fakeManager(
  world: { cluster: FakeCluster; clock: FakeClock },
  overrides: ConfigInput = {},
  identity = 'operator-a',
) {
  const config = testConfig(overrides);
  const metrics = createMetrics();
  const manager = new Manager({
    config,
    kube: world.cluster.port(identity),
    informers: world.cluster,
    clock: world.clock,
    log: pino({ level: 'silent' }),
    metrics,
    identity,
  });
  return { manager, metrics, config };
}

/** A counter's value summed over the label sets that match `labels`. */
export async function counted(
  counter: Counter<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}
