import { describe, expect, it } from '@jest/globals';
import { evaluateIntent, optInPolicy } from './opt-in.ts';
import { nodeView } from '../testing/fixtures.ts';
import { testConfig } from '../testing/test-config.ts';

const policy = optInPolicy(testConfig({ runtimes: ['wasmtime', 'spin', 'wasmedge'] }));

describe('opt-in', () => {
  it('annotation "true" opts in with all configured runtimes', () => {
    expect(evaluateIntent(nodeView('n', { annotations: { 'wasm-node': 'true' } }), policy)).toEqual(
      {
        kind: 'in',
        runtimes: ['wasmtime', 'spin', 'wasmedge'],
      },
    );
  });

  it('no annotation means out', () => {
    expect(evaluateIntent(nodeView('n'), policy)).toEqual({ kind: 'out' });
  });

  it.each(['yes', 'TRUE', '1', ''])(
    'annotation value %j is refused with a warning listing accepted values',
    (value) => {
      const intent = evaluateIntent(nodeView('n', { annotations: { 'wasm-node': value } }), policy);
      expect(intent.kind).toBe('invalid');
      if (intent.kind === 'invalid') {
        expect(intent.warnings[0]?.reason).toBe('InvalidOptInValue');
        expect(intent.warnings[0]?.message).toMatch(/accepted values are "true" .* and "false"/);
      }
    },
  );

  it('label selector and auto-provision opt in; annotation "false" still opts out', () => {
    const bySelector = optInPolicy(testConfig({ optIn: { labelSelector: 'pool=wasm' } }));
    expect(evaluateIntent(nodeView('n', { labels: { pool: 'wasm' } }), bySelector).kind).toBe('in');
    expect(evaluateIntent(nodeView('n', { labels: { pool: 'gpu' } }), bySelector).kind).toBe('out');
    const auto = optInPolicy(testConfig({ optIn: { autoProvision: true } }));
    expect(evaluateIntent(nodeView('n'), auto).kind).toBe('in');
    expect(
      evaluateIntent(nodeView('n', { annotations: { 'wasm-node': 'false' } }), auto).kind,
    ).toBe('out');
  });

  it('narrows runtimes per node, in config order', () => {
    const node = nodeView('n', {
      annotations: { 'wasm-node': 'true', 'wasm-node.dev/runtimes': 'wasmedge, wasmtime' },
    });
    expect(evaluateIntent(node, policy)).toEqual({
      kind: 'in',
      runtimes: ['wasmtime', 'wasmedge'],
    });
  });

  it('unknown runtime names in the narrowing are refused with a warning', () => {
    const node = nodeView('n', {
      annotations: { 'wasm-node': 'true', 'wasm-node.dev/runtimes': 'wasmtime,wasmer' },
    });
    const intent = evaluateIntent(node, policy);
    expect(intent).toMatchObject({ kind: 'invalid', warnings: [{ reason: 'UnknownRuntime' }] });
    if (intent.kind === 'invalid')
      expect(intent.warnings[0]?.message).toMatch(/wasmer.*wasmtime, spin, wasmedge/);
  });
});
