import { parseConfig, type Config, type ConfigInput } from '../config.ts';

/** The namespace every test puts installer Jobs in. */
export const TEST_NAMESPACE = 'wasm-system';

/**
 * The one test config, for unit and apiserver tests alike: durations short enough for tests
 * and long enough to be realistic about ordering, no failure budget, no re-verification,
 * a local health server. Overrides merge into it field by field.
 */
export function testConfig(overrides: ConfigInput = {}): Config {
  const base: ConfigInput = {
    namespace: TEST_NAMESPACE,
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
    server: { host: '127.0.0.1', port: 0 },
    logLevel: 'debug',
  };
  return parseConfig(merge(base, overrides));
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(a: Tree, b: Tree): Tree {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isTree(v) && isTree(prev) ? merge(prev, v) : v;
  }
  return out;
}
