import { describe, expect, it } from '@jest/globals';
import type { V1RuntimeClass } from '@kubernetes/client-node';
import { planRuntimeClasses } from './runtime-classes.ts';

const NONE = { stillLabelled: () => false, migrating: () => false };
const steering = (runtime: string) => ({ runtime, readableSelector: false });

describe('RuntimeClass plan', () => {
  const rc = (name: string, managedBy = 'wasm-node-operator'): V1RuntimeClass => ({
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': managedBy } },
    handler: name,
  });
  const config = (adoptExisting = false) => ({
    runtimes: ['spin', 'wasmtime'],
    runtimeClass: { tolerations: [], adoptExisting },
  });

  it('applies configured ones and removes an unconfigured one of ours only when no node still has it', () => {
    const labelled = new Set(['wasmedge']);
    const existing = [rc('spin'), rc('wasmedge'), rc('wasmer'), rc('crun-wasm', 'someone')];
    const fleet = { stillLabelled: (r: string) => labelled.has(r), migrating: () => false };
    expect(planRuntimeClasses(config(), existing, fleet)).toEqual({
      apply: [steering('spin'), steering('wasmtime')],
      remove: ['wasmer'],
      conflicts: [],
    });
  });

  it("leaves a same-named RuntimeClass of someone else's alone, unless told to adopt it", () => {
    const kwasm = rc('wasmtime', 'kwasm');
    expect(planRuntimeClasses(config(), [kwasm], NONE)).toEqual({
      apply: [steering('spin')],
      remove: [],
      conflicts: [kwasm],
    });
    expect(planRuntimeClasses(config(true), [kwasm], NONE).apply).toEqual([
      steering('spin'),
      steering('wasmtime'),
    ]);
  });

  it('one of ours that selects the readable label keeps it while a node awaits re-verification, then switches for good', () => {
    const old = {
      ...rc('wasmtime'),
      scheduling: { nodeSelector: { 'runtime.wasm-node.dev/wasmtime': 'ready' } },
    };
    const migrating = { stillLabelled: () => true, migrating: (r: string) => r === 'wasmtime' };
    expect(planRuntimeClasses(config(), [old], migrating).apply).toEqual([
      steering('spin'),
      { runtime: 'wasmtime', readableSelector: true },
    ]);
    expect(planRuntimeClasses(config(), [old], NONE).apply).toContainEqual(steering('wasmtime'));
    // Once it selects the steering label, a node with only the readable one changes nothing.
    expect(planRuntimeClasses(config(), [rc('wasmtime')], migrating).apply).toContainEqual(
      steering('wasmtime'),
    );
  });
});
