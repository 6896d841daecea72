import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { concurrencyLimit, parseConfig } from './config.ts';
import { parseDuration } from './duration.ts';
import { loadConfig, parseSetFlag } from './load-config.ts';

describe('config schema', () => {
  it('has production defaults for an empty file', () => {
    const c = parseConfig({});
    expect(c.runtimes).toEqual(['wasmtime', 'spin']);
    expect(c.optIn).toEqual({ annotation: 'wasm-node', labelSelector: '', autoProvision: false });
    expect(c.rollout.maxConcurrentInstalls).toBe('10%');
    expect(c.rollout.failureBudget).toBe(3);
    expect(c.rollout.reverifyInterval).toBe(3_600_000);
    expect(c.installer.priorityClassName).toBe('system-node-critical');
    expect(c.leaderElection).toMatchObject({
      enabled: true,
      leaseDuration: 15_000,
      renewDeadline: 10_000,
      retryPeriod: 2_000,
    });
  });

  it('reads durations as Go-style strings or seconds', () => {
    const c = parseConfig({
      rollout: { reverifyInterval: '1h30m', retryBackoff: { initial: 2, max: '500ms' } },
    });
    expect(c.rollout.reverifyInterval).toBe(5_400_000);
    expect(c.rollout.retryBackoff).toEqual({ initial: 2000, max: 500 });
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('5 minutes')).toBeUndefined();
  });

  it('rejects unknown runtimes, bad percentages, bad selectors and inconsistent lease timings, naming each field', () => {
    const attempt = () =>
      parseConfig({
        runtimes: ['wasmtime', 'nope'],
        rollout: { maxConcurrentInstalls: '150%' },
        optIn: { labelSelector: 'a in (b' },
        leaderElection: { leaseDuration: '5s', renewDeadline: '10s' },
      });
    for (const field of [
      'runtimes[1]',
      'rollout.maxConcurrentInstalls',
      'optIn.labelSelector',
      'at leaderElection',
    ]) {
      expect(attempt).toThrow(field);
    }
  });

  it('resolves maxConcurrentInstalls as a count or a percentage of opted-in nodes, never below 1', () => {
    expect(concurrencyLimit(3, 1000)).toBe(3);
    expect(concurrencyLimit('10%', 1000)).toBe(100);
    expect(concurrencyLimit('10%', 5)).toBe(1);
    expect(concurrencyLimit('100%', 0)).toBe(1);
  });
});

describe('config loading', () => {
  it('layers file < env < --set flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'config.yaml');
    await writeFile(
      file,
      'namespace: from-file\nruntimes: [spin]\nrollout:\n  failureBudget: 5\n  maxConcurrentInstalls: 2\n',
    );
    const c = await loadConfig({
      file,
      env: { POD_NAMESPACE: 'from-env', WASM_NODE_INSTALLER_IMAGE: 'img:env' },
      sets: ['rollout.failureBudget=1', 'installer.image=img:flag', 'optIn.autoProvision=true'],
    });
    expect(c.namespace).toBe('from-env');
    expect(c.runtimes).toEqual(['spin']);
    expect(c.rollout).toMatchObject({ failureBudget: 1, maxConcurrentInstalls: 2 });
    expect(c.installer.image).toBe('img:flag');
    expect(c.optIn.autoProvision).toBe(true);
  });

  it('parses --set values as YAML scalars', () => {
    expect(parseSetFlag('a.b=3')).toEqual({ path: 'a.b', value: 3 });
    expect(parseSetFlag('runtimes=[spin, wasmtime]')).toEqual({
      path: 'runtimes',
      value: ['spin', 'wasmtime'],
    });
    expect(parseSetFlag('x=25%')).toEqual({ path: 'x', value: '25%' });
    expect(() => parseSetFlag('novalue')).toThrow(/path=value/);
  });
});
