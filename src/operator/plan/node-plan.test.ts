import { describe, expect, it } from '@jest/globals';
import { jobViewOf, type JobView, type NodeView } from '../../kube/views.ts';
import { desiredHash } from '../build/desired-state.ts';
import { keepAnnotation } from '../keys.ts';
import { nodeView, report } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';
import type { JobOutcome } from './job-outcome.ts';
import { planNode, type NodeFacts, type RolloutFacts } from './node-plan.ts';
import { readFailure } from './node-records.ts';
import { optInPolicy } from './opt-in.ts';
import { countsAgainstBudget } from './schedule.ts';
import type { Plan, Step } from './steps.ts';

const NOW = Date.parse('2026-11-25T12:05:00.000Z');
const config = testConfig({
  rollout: { reverifyInterval: 0, retryBackoff: { initial: '30s', max: '10m' } },
});
const ctx = { config, policy: optInPolicy(config) };
const HASH = desiredHash(['wasmtime', 'spin'], config.installer);
const optedIn = (extra: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  nodeView('worker-1', { annotations: { 'wasm-node': 'true', ...extra }, labels });

/** A node verified ready for wasmtime and spin, as the operator labels it. */
const READY_LABELS = {
  'runtime.wasm-node.dev/wasmtime': 'ready',
  'runtime.wasm-node.dev/spin': 'ready',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/wasmtime': 'ready',
  'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': 'ready',
  'wasm-node.dev/provisioned': 'true',
  'wasm-node.dev/status': 'ready',
};

const FREE: RolloutFacts = { paused: false, slotFree: true, creating: undefined };

function plan(node: NodeView, over: Partial<NodeFacts> = {}, c = ctx): Plan {
  return planNode(
    { node, jobs: [], outcomes: new Map(), now: NOW, rollout: FREE, bootId: undefined, ...over },
    c,
  );
}

const DONE = { kind: 'done' };
const requeueMs = (p: Plan) => (p.next.kind === 'requeueAfter' ? p.next.ms : undefined);

function only<K extends Step['kind']>(p: Plan, kind: K): Extract<Step, { kind: K }>[] {
  return p.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);
}

/** The Job the plan started, as the Job cache would show it after it ran. */
function finish(p: Plan, phase: 'running' | 'succeeded' | 'failed'): JobView {
  const start = only(p, 'startJob')[0];
  if (!start) throw new Error('plan started no job');
  const end = new Date(NOW - 1000);
  const view = jobViewOf(
    {
      ...start.job,
      metadata: { ...start.job.metadata, uid: `uid-${start.job.metadata?.name}` },
      status: {
        startTime: new Date(NOW - 60_000),
        ...(phase === 'succeeded' ? { completionTime: end } : {}),
        conditions:
          phase === 'running'
            ? []
            : [
                {
                  type: phase === 'succeeded' ? 'Complete' : 'Failed',
                  status: 'True',
                  lastTransitionTime: end,
                  reason: phase === 'failed' ? 'BackoffLimitExceeded' : undefined,
                },
              ],
      },
    },
    keepAnnotation('wasm-node'),
  );
  return view;
}

/** The node as the cache shows it after the plan's patches. */
function patched(node: NodeView, p: Plan): NodeView {
  const next = structuredClone(node);
  for (const s of p.steps) {
    const patch = s.kind === 'patchNode' ? s : s.kind === 'startJob' ? s.patch : undefined;
    if (!patch) continue;
    for (const [k, v] of Object.entries(patch.labels ?? {})) {
      if (v === null) delete next.metadata.labels[k];
      else next.metadata.labels[k] = v;
    }
    for (const [k, v] of Object.entries(patch.annotations ?? {})) {
      if (v === null) delete next.metadata.annotations[k];
      else next.metadata.annotations[k] = v;
    }
  }
  return next;
}

const outcome = (o: JobOutcome, job: JobView) => new Map([[job.metadata.name, o]]);

describe('planNode: install', () => {
  it('an opted-in node without state gets an install Job and the installing status', () => {
    const p = plan(optedIn());
    expect(p.state).toBe('installing');
    const [start] = only(p, 'startJob');
    expect(start?.operation).toBe('install');
    expect(start?.job.metadata?.annotations?.['wasm-node.dev/desired-hash']).toBe(HASH);
    expect(start?.patch.labels).toEqual({ 'wasm-node.dev/status': 'installing' });
  });

  it('a node that is not opted in and has no markers is left alone', () => {
    expect(plan(nodeView('worker-1'))).toEqual({ state: 'idle', steps: [], next: DONE });
  });

  it('a spent failure budget starts nothing', () => {
    expect(plan(optedIn(), { rollout: { ...FREE, paused: true } })).toEqual({
      state: 'paused',
      steps: [],
      next: DONE,
    });
  });

  it('no free rollout slot: the node waits in line for one', () => {
    expect(plan(optedIn(), { rollout: { ...FREE, slotFree: false } })).toEqual({
      state: 'pending',
      steps: [{ kind: 'awaitSlot' }],
      next: { kind: 'awaitSlot' },
    });
  });

  it('a Job we created that the cache does not show yet is not created again', () => {
    const name = only(plan(optedIn()), 'startJob')[0]?.job.metadata?.name;
    expect(plan(optedIn(), { rollout: { ...FREE, creating: name } })).toEqual({
      state: 'installing',
      steps: [],
      next: DONE,
    });
  });

  it('a running Job means wait', () => {
    const job = finish(plan(optedIn()), 'running');
    expect(plan(optedIn(), { jobs: [job] })).toEqual({
      state: 'installing',
      steps: [],
      next: DONE,
    });
  });

  it('success labels exactly the verified runtimes, marks provisioned, records the hash, posts a Normal event', () => {
    const node = optedIn();
    const job = finish(plan(node), 'succeeded');
    const p = plan(node, { jobs: [job], outcomes: outcome({ report: report() }, job) });
    const [patch] = only(p, 'patchNode');
    // Readable labels, and the ones RuntimeClasses select (no kubelet can set those).
    expect(patch?.labels).toEqual(READY_LABELS);
    expect(patch?.annotations?.['wasm-node.dev/installed-hash']).toBe(HASH);
    expect(only(p, 'event')).toEqual([
      expect.objectContaining({ type: 'Normal', reason: 'Installed' }),
    ]);
    expect(only(p, 'deleteJob')).toEqual([]);
    // Once the cache shows the record, the Job goes and the node is ready.
    const after = plan(patched(node, p), { jobs: [job] });
    expect(only(after, 'deleteJob')).toEqual([{ kind: 'deleteJob', name: job.metadata.name }]);
    expect(plan(patched(node, p))).toEqual({ state: 'ready', steps: [], next: DONE });
  });

  it('a runtime the installer did not verify gets no label and a Warning', () => {
    const node = optedIn();
    const job = finish(plan(node), 'succeeded');
    const partial = report({
      runtimes: [
        { name: 'wasmtime', verified: true, adopted: false },
        { name: 'spin', verified: false, adopted: false },
      ],
    });
    const p = plan(node, { jobs: [job], outcomes: outcome({ report: partial }, job) });
    expect(only(p, 'patchNode')[0]?.labels).not.toHaveProperty(
      ['runtime.wasm-node.dev/spin'],
      'ready',
    );
    expect(only(p, 'event').map((e) => e.reason)).toEqual(['Installed', 'RuntimeNotVerified']);
  });

  it('a succeeded Job without a readable report is a failure (nothing is labelled unverified)', () => {
    const node = optedIn();
    const job = finish(plan(node), 'succeeded');
    const p = plan(node, {
      jobs: [job],
      outcomes: outcome({ problem: 'termination message is not JSON: boom' }, job),
    });
    expect(only(p, 'patchNode')[0]?.labels).toMatchObject({ 'wasm-node.dev/status': 'failed' });
    expect(only(p, 'event')[0]).toMatchObject({
      type: 'Warning',
      reason: 'InstallFailed',
      message: expect.stringContaining('not JSON'),
    });
  });
});

describe('planNode: failure and retry', () => {
  const node = optedIn();
  const job = finish(plan(node), 'failed');
  const failedReport = report({
    ok: false,
    runtimes: [],
    error: { code: 'RestartFailed', message: 'containerd did not come back', kind: 'failed' },
  });
  const recording = plan(node, { jobs: [job], outcomes: outcome({ report: failedReport }, job) });
  const failedNode = patched(node, recording);

  it('records the failure with the installer error as a Warning and a describe-visible annotation', () => {
    expect(only(recording, 'event')[0]).toMatchObject({
      type: 'Warning',
      reason: 'InstallFailed',
      message: expect.stringContaining('RestartFailed: containerd did not come back'),
    });
    expect(failedNode.metadata.labels['wasm-node.dev/status']).toBe('failed');
    expect(failedNode.metadata.annotations['wasm-node.dev/message']).toMatch(
      /install failed \(attempt 1.*containerd did not come back/,
    );
    expect(JSON.parse(failedNode.metadata.annotations['wasm-node.dev/failure']!)).toMatchObject({
      op: 'install',
      hash: HASH,
      attempts: 1,
      job: job.metadata.name,
    });
  });

  it('waits out the backoff, then deletes the failed Job, then retries under a new name', () => {
    const waiting = plan(failedNode, { jobs: [job] });
    expect(waiting.state).toBe('failed');
    expect(waiting.steps).toEqual([]);
    expect(requeueMs(waiting)).toBe(30_000 - 1000);
    const later = NOW + 30_000;
    expect(plan(failedNode, { jobs: [job], now: later }).steps).toEqual([
      { kind: 'deleteJob', name: job.metadata.name },
    ]);
    const retry = only(plan(failedNode, { now: later }), 'startJob')[0];
    expect(retry?.job.metadata?.name).not.toBe(job.metadata.name);
    expect(retry?.job.metadata?.annotations?.['wasm-node.dev/attempt']).toBe('1');
  });

  it('the backoff doubles per attempt', () => {
    const second = structuredClone(failedNode);
    second.metadata.annotations['wasm-node.dev/failure'] = JSON.stringify({
      op: 'install',
      hash: HASH,
      attempts: 2,
      at: NOW,
      job: 'x',
    });
    expect(requeueMs(plan(second))).toBe(60_000);
  });

  it('the retry annotation clears the failure once the failed Job is gone', () => {
    const asked = structuredClone(failedNode);
    asked.metadata.annotations['wasm-node.dev/retry'] = 'now';
    expect(plan(asked, { jobs: [job] }).steps).toEqual([
      { kind: 'deleteJob', name: job.metadata.name },
    ]);
    const cleared = plan(asked);
    expect(only(cleared, 'patchNode')[0]?.annotations).toEqual({
      'wasm-node.dev/retry': null,
      'wasm-node.dev/failure': null,
    });
    expect(only(plan(patched(asked, cleared)), 'startJob')).toHaveLength(1);
  });

  it('a new desired state (config change) retries at once, ignoring the old backoff', () => {
    const c = testConfig({ installer: { image: 'installer:2' }, rollout: { reverifyInterval: 0 } });
    expect(
      only(plan(failedNode, {}, { config: c, policy: optInPolicy(c) }), 'startJob'),
    ).toHaveLength(1);
  });
});

describe('planNode: upgrade, re-verification, opt-out, bad values', () => {
  const ready = optedIn(
    {
      'wasm-node.dev/installed-hash': HASH,
      'wasm-node.dev/verified-at': new Date(NOW - 60_000).toISOString(),
    },
    READY_LABELS,
  );

  it('a new installer image re-installs a ready node', () => {
    const c = testConfig({ installer: { image: 'installer:2' } });
    const p = plan(ready, {}, { config: c, policy: optInPolicy(c) });
    expect(only(p, 'startJob')[0]?.job.spec?.template.spec?.containers[0]?.image).toBe(
      'installer:2',
    );
  });

  it('re-verifies a ready node after reverifyInterval (staggered), and not before', () => {
    const c = testConfig({ rollout: { reverifyInterval: '1h' } });
    const cx = { config: c, policy: optInPolicy(c) };
    const early = plan(ready, {}, cx);
    expect(early.steps).toEqual([]);
    expect(requeueMs(early)).toBeGreaterThanOrEqual(3_600_000 - 60_000);
    expect(requeueMs(early)).toBeLessThanOrEqual(3_960_000);
    const due = plan(ready, { now: NOW + 2 * 3_600_000 }, cx);
    expect(only(due, 'startJob')).toHaveLength(1);
  });

  it('a node labelled ready the old way (readable label only, or by its kubelet) is re-verified at once, also while the rollout is paused', () => {
    const old = structuredClone(ready);
    for (const key of Object.keys(old.metadata.labels))
      if (key.includes('.node-restriction.kubernetes.io/')) delete old.metadata.labels[key];
    const p = plan(old, { rollout: { ...FREE, paused: true } });
    const [start] = only(p, 'startJob');
    expect(start?.operation).toBe('install');
    // The readable labels stay while it re-verifies: they steer nothing.
    expect(start?.patch.labels).toEqual({ 'wasm-node.dev/status': 'installing' });
  });

  it("a ready node whose boot id changed since its verification loses its ready labels in the write that marks it reverifying (a reboot or re-image may have rewritten containerd's config), also while paused", () => {
    const booted = structuredClone(ready);
    booted.metadata.annotations['wasm-node.dev/boot-id'] = 'boot-1';
    const paused = { bootId: 'boot-2', rollout: { ...FREE, paused: true } };
    const p = plan(booted, paused);
    expect(p.state).toBe('reverifying');
    expect(only(p, 'startJob')).toEqual([]);
    const [withdraw] = only(p, 'patchNode');
    expect(withdraw?.labels).toEqual({
      'runtime.wasm-node.dev/wasmtime': null,
      'runtime.wasm-node.dev/spin': null,
      'runtime.wasm-node.dev.node-restriction.kubernetes.io/wasmtime': null,
      'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': null,
      'wasm-node.dev/provisioned': null,
      'wasm-node.dev/status': 'reverifying',
    });
    expect(withdraw?.annotations?.['wasm-node.dev/message']).toMatch(/rebooted.*withdrawn/);
    expect(only(p, 'event')[0]).toMatchObject({ type: 'Normal', reason: 'ReadyLabelsWithdrawn' });
    // Once the cache shows them gone, the re-verification starts at once, paused or not.
    const withdrawn = patched(booted, p);
    const [start] = only(plan(withdrawn, paused), 'startJob');
    expect(start?.operation).toBe('install');
    expect(start?.patch.annotations['wasm-node.dev/message']).toMatch(/rebooted/);
    // Waiting for a slot, it stays without labels and says why.
    const waiting = plan(withdrawn, { bootId: 'boot-2', rollout: { ...FREE, slotFree: false } });
    expect(waiting.next).toEqual({ kind: 'awaitSlot' });
    expect(only(waiting, 'patchNode')).toEqual([]);
    // The same boot, or none known yet, changes nothing.
    expect(plan(booted, { bootId: 'boot-1' }).steps).toEqual([]);
    expect(plan(booted, { bootId: undefined }).steps).toEqual([]);
  });

  it('a rebooted node is re-labelled when its re-verification succeeds, and stays unlabelled when it fails', () => {
    const booted = structuredClone(ready);
    booted.metadata.annotations['wasm-node.dev/boot-id'] = 'boot-1';
    const facts = { bootId: 'boot-2' };
    const withdrawn = patched(booted, plan(booted, facts));
    const job = finish(plan(withdrawn, facts), 'succeeded');
    const ok = plan(withdrawn, {
      ...facts,
      jobs: [job],
      outcomes: outcome({ report: report({ bootId: 'boot-2' }) }, job),
    });
    const relabelled = patched(withdrawn, ok);
    expect(relabelled.metadata.labels).toEqual(READY_LABELS);
    expect(relabelled.metadata.annotations['wasm-node.dev/boot-id']).toBe('boot-2');
    expect(plan(relabelled, facts).steps).toEqual([]);
    // A failure, even one whose installer changed nothing, has nothing to give back.
    const failed = finish(plan(withdrawn, facts), 'failed');
    const unchanged = report({
      ok: false,
      runtimes: [],
      changed: false,
      error: { code: 'lock-timeout', message: 'host lock held', kind: 'failed' },
    });
    for (const o of [{ report: unchanged }, { problem: 'no pod' }]) {
      const after = patched(
        withdrawn,
        plan(withdrawn, { ...facts, jobs: [failed], outcomes: outcome(o, failed) }),
      );
      expect(Object.keys(after.metadata.labels).filter((k) => k.includes('runtime.'))).toEqual([]);
      expect(after.metadata.labels['wasm-node.dev/provisioned']).toBeUndefined();
    }
  });

  it('a re-verification that finishes in the same second as the last one is still recorded (a run is told apart by its Job, not its time)', () => {
    const same = structuredClone(ready);
    same.metadata.annotations['wasm-node.dev/verified-at'] = new Date(NOW - 1000).toISOString();
    same.metadata.labels = {};
    // Readable labels only: due for re-verification now; its Job ends at NOW - 1000 too.
    same.metadata.labels['runtime.wasm-node.dev/spin'] = 'ready';
    const job = finish(plan(same), 'succeeded');
    const p = plan(same, { jobs: [job], outcomes: outcome({ report: report() }, job) });
    expect(only(p, 'patchNode')[0]?.labels).toMatchObject({
      'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': 'ready',
    });
    expect(only(p, 'patchNode')[0]?.annotations?.['wasm-node.dev/verified-by']).toBe(
      job.metadata.uid,
    );
  });

  it("a verification records the node's boot id from the installer's report", () => {
    const node = optedIn();
    const job = finish(plan(node), 'succeeded');
    const p = plan(node, {
      jobs: [job],
      outcomes: outcome({ report: report({ bootId: 'boot-7' }) }, job),
    });
    expect(only(p, 'patchNode')[0]?.annotations?.['wasm-node.dev/boot-id']).toBe('boot-7');
  });

  it('a paused rollout still re-verifies ready nodes when due (it holds back changes, not checks)', () => {
    const c = testConfig({ rollout: { reverifyInterval: '1h' } });
    const due = plan(
      ready,
      { now: NOW + 2 * 3_600_000, rollout: { ...FREE, paused: true } },
      { config: c, policy: optInPolicy(c) },
    );
    expect(only(due, 'startJob')).toHaveLength(1);
    expect(plan(optedIn(), { rollout: { ...FREE, paused: true } }).state).toBe('paused');
  });

  it('opt-out starts an uninstall Job and drops the ready labels first', () => {
    const out = structuredClone(ready);
    out.metadata.annotations['wasm-node'] = 'false';
    const p = plan(out);
    const [start] = only(p, 'startJob');
    expect(start?.operation).toBe('uninstall');
    expect(start?.job.spec?.template.spec?.containers[0]?.args?.slice(0, 3)).toEqual([
      'uninstall',
      '--runtimes',
      'wasmtime,spin',
    ]);
    expect(start?.patch.labels).toMatchObject({
      'runtime.wasm-node.dev/spin': null,
      'wasm-node.dev/provisioned': null,
      'wasm-node.dev/status': 'uninstalling',
    });
    // After the uninstall succeeds every marker goes, then the Job.
    const job = finish(p, 'succeeded');
    const done = plan(patched(out, p), { jobs: [job] });
    expect(only(done, 'event')[0]?.reason).toBe('Uninstalled');
    const clean = patched(patched(out, p), done);
    expect(clean.metadata.labels).toEqual({});
    expect(Object.keys(clean.metadata.annotations)).toEqual(['wasm-node']);
    expect(plan(clean, { jobs: [job] }).steps).toEqual([
      { kind: 'deleteJob', name: job.metadata.name },
    ]);
  });

  it('an unreadable opt-in value warns and neither installs nor uninstalls', () => {
    const bad = structuredClone(ready);
    bad.metadata.annotations['wasm-node'] = 'yes';
    const p = plan(bad);
    expect(p.state).toBe('invalid');
    expect(p.steps).toEqual([
      expect.objectContaining({ kind: 'event', type: 'Warning', reason: 'InvalidOptInValue' }),
    ]);
  });
});

describe('planNode: nodes the installer cannot serve (refusals, Windows, Fargate)', () => {
  const refusedReport = report({
    ok: false,
    runtimes: [],
    changed: false,
    restarted: false,
    error: { code: 'immutable-os', message: 'Talos has an immutable root', kind: 'refused' },
  });

  it('a refusal is its own state, unsupported: an InstallRefused Warning, the status says so, and it spends no budget', () => {
    const node = optedIn();
    const job = finish(plan(node), 'failed');
    const p = plan(node, { jobs: [job], outcomes: outcome({ report: refusedReport }, job) });
    expect(only(p, 'patchNode')[0]?.labels).toMatchObject({
      'wasm-node.dev/status': 'unsupported',
    });
    expect(only(p, 'event')[0]).toMatchObject({
      type: 'Warning',
      reason: 'InstallRefused',
      message: expect.stringContaining('Talos has an immutable root'),
    });
    const recorded = patched(node, p);
    const failure = readFailure(recorded);
    expect(failure).toMatchObject({ op: 'install', hash: HASH, refused: true });
    expect(countsAgainstBudget(failure, HASH)).toBe(false);
    expect(plan(recorded, { jobs: [job] }).state).toBe('unsupported');
  });

  it.each([
    ['a Windows node', { 'kubernetes.io/os': 'windows' }],
    ['a Fargate node', { 'eks.amazonaws.com/compute-type': 'fargate' }],
  ])('%s opted in by autoProvision gets no Job and no Warning', (_what, labels) => {
    const auto = testConfig({ optIn: { autoProvision: true } });
    const p = plan(nodeView('n', { labels }), {}, { config: auto, policy: optInPolicy(auto) });
    expect(p).toEqual({ state: 'unsupported', steps: [], next: DONE });
  });

  it('a Windows node annotated to opt in gets no Job but a Warning that says why', () => {
    const p = plan(optedIn({}, { 'kubernetes.io/os': 'windows' }));
    expect(p.state).toBe('unsupported');
    expect(p.steps).toEqual([
      expect.objectContaining({ kind: 'event', type: 'Warning', reason: 'NodeUnsupported' }),
    ]);
  });

  it('a failed re-verification whose installer changed nothing, or restored the old config, keeps the labels of what the node still serves', () => {
    const ready = optedIn(
      {
        'wasm-node.dev/installed-hash': HASH,
        'wasm-node.dev/verified-at': new Date(NOW - 7_200_000).toISOString(),
      },
      READY_LABELS,
    );
    const c = testConfig({ rollout: { reverifyInterval: '1h' } });
    const cx = { config: c, policy: optInPolicy(c) };
    const job = finish(plan(ready, {}, cx), 'failed');
    const rolledBack = report({
      ok: false,
      runtimes: [],
      changed: true,
      restarted: true,
      rolledBack: true,
      error: { code: 'verify-failed', message: 'spin not registered', kind: 'failed' },
    });
    for (const r of [rolledBack, refusedReport]) {
      const p = plan(ready, { jobs: [job], outcomes: outcome({ report: r }, job) }, cx);
      const labels = only(p, 'patchNode')[0]?.labels ?? {};
      expect(labels).not.toHaveProperty(['runtime.wasm-node.dev/spin']);
      expect(labels).not.toHaveProperty(['runtime.wasm-node.dev/wasmtime']);
      expect(labels).not.toHaveProperty(['wasm-node.dev/provisioned']);
    }
    // Without a report nothing says what the node serves: its labels go.
    const silent = plan(ready, { jobs: [job], outcomes: outcome({ problem: 'no pod' }, job) }, cx);
    expect(only(silent, 'patchNode')[0]?.labels).toMatchObject({
      'runtime.wasm-node.dev/spin': null,
    });
  });
});
