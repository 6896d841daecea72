import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import type { EventSpec, KubePort } from '../kube/kube-port.ts';
import { desiredHash } from './desired-state.ts';
import { EventRecorder } from './event-recorder.ts';
import { NodeTracker } from './node-tracker.ts';
import { optInPolicy } from './opt-in.ts';
import { FakeClock } from './testing/fake-clock.ts';
import { nodeView, testConfig } from './testing/fixtures.ts';

describe('NodeTracker', () => {
  const config = testConfig();
  const failedNode = (name: string, hash: string) =>
    nodeView(name, {
      annotations: {
        'wasm-node': 'true',
        'wasm-node.dev/failure': JSON.stringify({
          op: 'install',
          hash,
          attempts: 1,
          at: 0,
          job: 'j',
        }),
      },
    });

  it('counts opted-in nodes and failures for the current desired state only (a config change resumes)', () => {
    const tracker = new NodeTracker(config, optInPolicy(config));
    tracker.observe(failedNode('a', desiredHash(config.runtimes, config.installer)));
    tracker.observe(failedNode('b', 'hash-of-an-older-config'));
    tracker.observe(nodeView('c'));
    expect([...tracker.optedIn].sort()).toEqual(['a', 'b']);
    expect([...tracker.failed]).toEqual(['a']);
    tracker.forget('a');
    expect(tracker.failed.size).toBe(0);
  });

  it('reports a runtime whose label the last node lost', () => {
    const tracker = new NodeTracker(config, optInPolicy(config));
    const labelled = (name: string, runtimes: string[]) =>
      nodeView(name, {
        labels: Object.fromEntries(runtimes.map((r) => [`runtime.wasm-node.dev/${r}`, 'ready'])),
      });
    expect(tracker.observe(labelled('a', ['spin', 'wasmtime']))).toEqual([]);
    expect(tracker.observe(labelled('b', ['spin']))).toEqual([]);
    expect(tracker.observe(labelled('a', ['wasmtime']))).toEqual([]);
    expect(tracker.hasRuntime('spin')).toBe(true);
    expect(tracker.forget('b')).toEqual(['spin']);
    expect(tracker.hasRuntime('spin')).toBe(false);
    expect(tracker.hasRuntime('wasmtime')).toBe(true);
  });
});

describe('EventRecorder', () => {
  it('drops repeats of the same node, reason and message within the window', async () => {
    const sent: EventSpec[] = [];
    const kube = { createEvent: async (e: EventSpec) => void sent.push(e) } as unknown as KubePort;
    const clock = new FakeClock();
    const recorder = new EventRecorder({ kube, clock, namespace: 'default', windowMs: 60_000 });
    const log = pino({ level: 'silent' });
    const node = nodeView('n');
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'other', log);
    await clock.advance(60_000);
    await recorder.nodeEvent(node, 'Warning', 'InvalidOptInValue', 'bad', log);
    expect(sent.map((e) => e.message)).toEqual(['bad', 'other', 'bad']);
    expect(sent[0]).toMatchObject({
      namespace: 'default',
      involved: { kind: 'Node', name: 'n', uid: 'uid-n' },
    });
  });
});
