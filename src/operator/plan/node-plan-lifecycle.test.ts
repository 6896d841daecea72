import { describe, expect, it } from '@jest/globals';
import { nodeView, report } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';
import { readFailure } from './node-records.ts';
import { optInPolicy } from './opt-in.ts';
import { countsAgainstBudget } from './schedule.ts';
import {
  NOW,
  HASH,
  optedIn,
  READY_LABELS,
  FREE,
  plan,
  DONE,
  requeueMs,
  only,
  finish,
  patched,
  outcome,
} from '../testing/plan-harness.ts';

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
