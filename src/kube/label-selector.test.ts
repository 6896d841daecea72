import { describe, expect, it } from '@jest/globals';
import { matchesSelector, parseLabelSelector } from './label-selector.ts';

const labels = { pool: 'wasm', zone: 'a', 'node-role.kubernetes.io/worker': '' };

describe('label selectors', () => {
  it.each([
    ['pool=wasm', true],
    ['pool==wasm', true],
    ['pool!=wasm', false],
    ['pool in (wasm, gpu)', true],
    ['zone notin (a,b)', false],
    ['node-role.kubernetes.io/worker', true],
    ['!gpu', true],
    ['pool=wasm,zone in (b)', false],
    ['pool=wasm, !missing, zone notin (c)', true],
  ])('%s → %s', (selector, expected) => {
    expect(matchesSelector(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('an empty selector selects nothing (opt-in by selector is off)', () => {
    expect(matchesSelector(parseLabelSelector(''), labels)).toBe(false);
  });

  it('rejects malformed terms', () => {
    expect(() => parseLabelSelector('pool in wasm')).toThrow(/invalid label selector term/);
    expect(() => parseLabelSelector('=x')).toThrow();
  });
});
