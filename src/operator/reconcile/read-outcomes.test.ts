import { describe, expect, it } from '@jest/globals';
import { installerPod } from '../../kube/testing/pods.ts';
import { report } from '../testing/fixtures.ts';
import { outcomeFromPods } from './read-outcomes.ts';

const pod = (name: string, created: string, terminated?: Parameters<typeof installerPod>[2]) =>
  installerPod(name, new Date(created), terminated);

describe('reading the installer termination message', () => {
  it('parses the report of the newest pod', () => {
    const pods = [
      pod('old', '2026-11-25T12:00:00Z', {
        exitCode: 1,
        message: JSON.stringify(report({ ok: false })),
      }),
      pod('new', '2026-11-25T12:01:00Z', { exitCode: 0, message: JSON.stringify(report()) }),
    ];
    expect(outcomeFromPods(pods).report?.ok).toBe(true);
  });

  it('finds the report as the last JSON line when the kubelet fell back to logs', () => {
    const message = `starting\nrestarting containerd\n${JSON.stringify(report())}\n`;
    expect(
      outcomeFromPods([pod('p', '2026-11-25T12:00:00Z', { exitCode: 0, message })]).report,
    ).toBeDefined();
  });

  it('skips JSON log lines that are not a report', () => {
    const message = `${JSON.stringify(report())}\n{"level":50,"msg":"exiting"}`;
    expect(
      outcomeFromPods([pod('p', '2026-11-25T12:00:00Z', { exitCode: 1, message })]).report,
    ).toBeDefined();
  });

  it('explains why there is no report', () => {
    expect(outcomeFromPods([]).problem).toMatch(/not found/);
    expect(outcomeFromPods([pod('p', '2026-11-25T12:00:00Z')]).problem).toMatch(
      /no terminated container/,
    );
    expect(
      outcomeFromPods([pod('p', '2026-11-25T12:00:00Z', { exitCode: 137, reason: 'OOMKilled' })])
        .problem,
    ).toMatch(/exited 137 \(OOMKilled\)/);
    expect(
      outcomeFromPods([
        pod('p', '2026-11-25T12:00:00Z', { exitCode: 1, message: '{"schema":"other"}' }),
      ]).problem,
    ).toMatch(/not an install report/);
  });
});
