import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import {
  ANNOTATIONS,
  LABELS,
  RUNTIME_LABEL_PREFIX,
  STATUS,
  STEERING_LABEL_PREFIX,
} from '../src/operator/keys.ts';
import { waitFor } from '../test/support/wait.ts';
import {
  READY_LABEL,
  clearNodeMarkers,
  installOperator,
  setOptIn,
  uninstallOperator,
} from './local-deploy.ts';
import type { NodeProbe } from './node-probe.ts';
import {
  SETUP_MS,
  metric,
  newJobs,
  nodeEvent,
  scenarios,
  setUpTestbed,
  tearDownTestbed,
  terminatedInstaller,
  type Testbed,
} from './scenario.ts';

// A node whose installer image fails its checksum (a tampered image on that node only) pauses
// the rollout once the failure budget is spent: with a budget of 1, the other nodes, opted in
// after, get no installer Job at all and stay exactly as they were.
const GOOD = 'localhost/wasm-node-installer:e2e';
const CORRUPT = 'localhost/wasm-node-installer:corrupt';
const KEPT = 'localhost/wasm-node-installer:e2e-good';

let t: Testbed;
const scenario = scenarios(() => t);
let failing: NodeProbe;
let others: NodeProbe[];

const ctrTag = (node: NodeProbe, from: string, to: string) =>
  node.machine.sh(`ctr -n k8s.io images tag --force ${from} ${to} >/dev/null`);

describe('a failing node and the failure budget', () => {
  beforeAll(async () => {
    t = await setUpTestbed(['operator', 'installer', 'corrupt-installer']);
    [failing, ...others] = t.nodes as [NodeProbe, ...NodeProbe[]];
    // On this node only, the installer image the operator names is the tampered one.
    await ctrTag(failing, GOOD, KEPT);
    await ctrTag(failing, CORRUPT, GOOD);
  }, SETUP_MS);

  afterAll(async () => {
    if (t) {
      await uninstallOperator(t.d);
      for (const node of t.nodes) await clearNodeMarkers(t.d, node.name);
      await ctrTag(failing, KEPT, GOOD).catch(() => undefined);
    }
    await tearDownTestbed(t);
  }, 5 * 60_000);

  scenario(
    'a checksum mismatch fails one node, pauses the rollout at the budget, and leaves the others untouched',
    async (started) => {
      await installOperator(t.d, { maxConcurrentInstalls: 1, failureBudget: 1 });
      const before = t.jobs.names();
      const pids = await Promise.all(t.nodes.map((n) => n.mainPid()));
      await setOptIn(t.d, failing.name, true);
      const node = await waitFor(
        `the operator to mark ${failing.name} failed`,
        async () => {
          const n = await t.d.core.readNode({ name: failing.name });
          return n.metadata?.labels?.[LABELS.status] === STATUS.failed && n;
        },
        { timeoutMs: 180_000 },
      );
      expect(node.metadata?.labels?.[READY_LABEL]).toBeUndefined();
      expect(node.metadata?.annotations?.[ANNOTATIONS.message]).toContain('checksum-mismatch');
      const [job] = newJobs(t, before, 'install', failing.name);
      if (!job) throw new Error(`no install Job for ${failing.name}`);
      const { exitCode, report } = await terminatedInstaller(t, job);
      expect(exitCode).not.toBe(0);
      expect(report).toMatchObject({
        ok: false,
        changed: false,
        restarted: false,
        error: { code: 'checksum-mismatch' },
      });
      expect((await nodeEvent(t, failing.name, 'InstallFailed', started)).type).toBe('Warning');

      for (const n of others) await setOptIn(t.d, n.name, true);
      await waitFor(
        'the operator to hold the other nodes back (rollout paused)',
        async () =>
          (await metric(t, 'wasm_node_operator_rollout_paused', '')) === 1 &&
          (await metric(t, 'wasm_node_operator_nodes', 'state="paused"')) === others.length,
        { timeoutMs: 60_000 },
      );
      expect((await nodeEvent(t, failing.name, 'RolloutPaused', started)).type).toBe('Warning');
      expect(newJobs(t, before, 'install').filter((j) => j !== job)).toEqual([]);
      for (const [i, n] of t.nodes.entries()) {
        expect(await n.config()).toBe(t.original.get(n.name));
        expect(await n.mainPid()).toBe(pids[i]);
        expect(await n.restarts(started.getTime() * 1000)).toEqual([]);
        const labels = (await t.d.core.readNode({ name: n.name })).metadata?.labels ?? {};
        expect(
          Object.keys(labels).filter(
            (k) => k.startsWith(RUNTIME_LABEL_PREFIX) || k.startsWith(STEERING_LABEL_PREFIX),
          ),
        ).toEqual([]);
      }
    },
  );
});
