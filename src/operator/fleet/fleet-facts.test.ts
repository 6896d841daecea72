import { describe, expect, it } from '@jest/globals';
import { desiredHash } from '../build/desired-state.ts';
import { optInPolicy } from '../plan/opt-in.ts';
import { nodeView } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';
import { FleetFacts } from './fleet-facts.ts';

describe('FleetFacts', () => {
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
    const tracker = new FleetFacts(config, optInPolicy(config));
    tracker.observe(failedNode('a', desiredHash(config.runtimes, config.installer)));
    tracker.observe(failedNode('b', 'hash-of-an-older-config'));
    tracker.observe(nodeView('c'));
    expect([...tracker.optedIn].sort()).toEqual(['a', 'b']);
    expect([...tracker.failed]).toEqual(['a']);
    tracker.forget('a');
    expect(tracker.failed.size).toBe(0);
  });

  it('reports a runtime whose label the last node lost', () => {
    const tracker = new FleetFacts(config, optInPolicy(config));
    const labelled = (name: string, runtimes: string[]) =>
      nodeView(name, {
        labels: Object.fromEntries(runtimes.map((r) => [`runtime.wasm-node.dev/${r}`, 'ready'])),
      });
    expect(tracker.observe(labelled('a', ['spin', 'wasmtime']))).toEqual([]);
    expect(tracker.observe(labelled('b', ['spin']))).toEqual([]);
    expect(tracker.observe(labelled('a', ['wasmtime']))).toEqual([]);
    expect(tracker.stillLabelled('spin')).toBe(true);
    expect(tracker.forget('b')).toEqual(['spin']);
    expect(tracker.stillLabelled('spin')).toBe(false);
    expect(tracker.stillLabelled('wasmtime')).toBe(true);
  });

  it('counts control-plane and dedicated etcd nodes (k3s, RKE2) as nodes that go one at a time', () => {
    const tracker = new FleetFacts(config, optInPolicy(config));
    const role = (name: string, label?: string) =>
      nodeView(name, { labels: label ? { [`node-role.kubernetes.io/${label}`]: 'true' } : {} });
    for (const [name, label] of [
      ['server', 'control-plane'],
      ['old-server', 'master'],
      ['etcd-only', 'etcd'],
      ['worker', undefined],
    ] as const)
      tracker.observe(role(name, label));
    expect([...tracker.controlPlane].sort()).toEqual(['etcd-only', 'old-server', 'server']);
    tracker.observe(role('etcd-only'));
    expect(tracker.controlPlane.has('etcd-only')).toBe(false);
  });
});
