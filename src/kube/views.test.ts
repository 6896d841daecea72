import { describe, expect, it } from '@jest/globals';
import { jobFinishedAt, jobPhase, jobViewOf } from './views.ts';

describe('jobPhase', () => {
  const job = (conditions: { type: string; status: string; lastTransitionTime?: Date }[]) =>
    jobViewOf({ metadata: { name: 'j' }, status: { conditions } }, () => false);
  const at = new Date('2026-11-25T12:00:00Z');

  it('a Job in FailureTarget has failed: its pods may never terminate (the node died)', () => {
    const target = job([{ type: 'FailureTarget', status: 'True', lastTransitionTime: at }]);
    expect(jobPhase(target)).toBe('failed');
    expect(jobFinishedAt(target)).toBe(at.toISOString());
  });

  it('Complete succeeded, Failed failed, otherwise running', () => {
    expect(jobPhase(job([{ type: 'Complete', status: 'True' }]))).toBe('succeeded');
    expect(jobPhase(job([{ type: 'Failed', status: 'True' }]))).toBe('failed');
    expect(jobPhase(job([{ type: 'FailureTarget', status: 'False' }]))).toBe('running');
    expect(jobPhase(job([]))).toBe('running');
  });
});
