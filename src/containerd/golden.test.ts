import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { RUNTIMES } from '../catalog/runtimes.ts';
import { ConfigError } from './config-error.ts';
import { addRuntimes, removeRuntimes } from './patch-config.ts';

// Real configs from kind, k3s, RKE2, MicroK8s, minikube, EKS, AKS, GKE/COS, Talos and containerd's
// own defaults. Expected outputs are checked in; UPDATE_GOLDEN=1 rewrites them after a reviewed change.
const SAMPLES = new URL('../../test/fixtures/containerd-samples/', import.meta.url);
const GOLDEN = new URL('../../test/fixtures/patcher-golden/', import.meta.url);
const samples = readdirSync(SAMPLES).filter((f) => f !== 'README.md');
const allRuntimes = RUNTIMES.map((runtime) => ({
  runtime,
  binaryPath: `/opt/wasm-node/bin/${runtime.binary}`,
}));

function outcome(text: string): string {
  try {
    return addRuntimes(text, { runtimes: allRuntimes }).text;
  } catch (err) {
    if (err instanceof ConfigError) return `# refused: ${err.code}\n`;
    throw err;
  }
}

describe('golden output over every real-world sample', () => {
  it('has samples to test', () => expect(samples.length).toBeGreaterThanOrEqual(19));

  it.each(samples)('%s', (name) => {
    const input = readFileSync(new URL(name, SAMPLES), 'utf8');
    const got = outcome(input);
    const golden = new URL(`${name}.out`, GOLDEN);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, got);
    if (!existsSync(golden))
      throw new Error(`no golden file for ${name}; review the output and run with UPDATE_GOLDEN=1`);
    expect(got).toBe(readFileSync(golden, 'utf8'));
    if (got.startsWith('# refused')) return;
    // The original bytes survive as a prefix, a second run is byte-identical, removal restores them.
    expect(got.startsWith(input)).toBe(true);
    expect(addRuntimes(got, { runtimes: allRuntimes }).changed).toBe(false);
    expect(removeRuntimes(got).text).toBe(input);
  });
});
