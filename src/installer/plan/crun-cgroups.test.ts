import { describe, expect, it } from '@jest/globals';
import { crunCgroupRefusal } from './crun-cgroups.ts';

describe('crunCgroupRefusal', () => {
  it('accepts v1, v2 and hybrid hosts whose v2 hierarchy has no controllers', () => {
    expect(crunCgroupRefusal(undefined)).toBeUndefined();
    expect(crunCgroupRefusal('')).toBeUndefined();
    expect(crunCgroupRefusal('\n')).toBeUndefined();
  });

  it('refuses a hybrid host with controllers in v2, naming them and the ways out', () => {
    const reason = crunCgroupRefusal('hugetlb\n');
    expect(reason).toContain('has controllers (hugetlb)');
    expect(reason).toContain('boot the node with cgroup v2 only');
    expect(reason).toContain('leave crun-wasm out');
  });
});
