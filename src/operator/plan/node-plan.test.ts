import { describe, expect, it } from '@jest/globals';
import { nodeView, report } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';
import { optInPolicy } from './opt-in.ts';
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
