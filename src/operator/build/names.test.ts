import { describe, expect, it } from '@jest/globals';
import { jobName, nodeHash } from './names.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('job names', () => {
  it('are deterministic and at most 63 chars for a 253-char node name', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    const name = jobName('install', long, 'run-1');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
    expect(jobName('install', long, 'run-1')).toBe(name);
  });

  it('differ for long node names that share a 63-char prefix', () => {
    const prefix = 'node-pool-with-a-really-long-name-that-goes-on-and-on-and-on-';
    expect(jobName('install', `${prefix}1`, 'r')).not.toBe(jobName('install', `${prefix}2`, 'r'));
  });

  it('differ per operation and per run, so a retry never reuses a name', () => {
    const names = new Set([
      jobName('install', 'n1', 'h/0/'),
      jobName('install', 'n1', 'h/1/'),
      jobName('uninstall', 'n1', 'h/0/'),
    ]);
    expect(names.size).toBe(3);
  });

  it('keep a readable node prefix and end with the hash', () => {
    expect(jobName('install', 'worker-1', 'r')).toMatch(/^wasm-install-worker-1-[0-9a-f]{10}$/);
    expect(jobName('install', 'Node.Example.COM', 'r')).toMatch(
      /^wasm-install-node-example-com-[0-9a-f]{10}$/,
    );
  });

  it('node hash is a valid label value', () => {
    expect(nodeHash('x'.repeat(253))).toMatch(/^[0-9a-f]{16}$/);
  });
});
