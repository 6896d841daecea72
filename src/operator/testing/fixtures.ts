import { INSTALL_REPORT_SCHEMA, type InstallReport } from '../../formats/install-report.ts';
import type { JobView, NodeView } from '../../kube/views.ts';
import { TEST_NAMESPACE } from './test-config.ts';

export function nodeView(
  name: string,
  opts: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): NodeView {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels: { ...opts.labels },
      annotations: { ...opts.annotations },
    },
  };
}

/** A JobView as the Job cache would hold it, in the given phase. */
export function jobView(
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string>,
  phase: 'running' | 'succeeded' | 'failed',
  times = { start: '2026-11-25T12:00:00.000Z', end: '2026-11-25T12:01:00.000Z' },
): JobView {
  const conditions =
    phase === 'running'
      ? []
      : [
          {
            type: phase === 'succeeded' ? 'Complete' : 'Failed',
            status: 'True',
            reason: phase === 'failed' ? 'BackoffLimitExceeded' : undefined,
            message: phase === 'failed' ? 'Job has reached the specified backoff limit' : undefined,
            lastTransitionTime: times.end,
          },
        ];
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      namespace: TEST_NAMESPACE,
      resourceVersion: '1',
      labels,
      annotations,
    },
    status: {
      active: phase === 'running' ? 1 : 0,
      startTime: times.start,
      completionTime: phase === 'succeeded' ? times.end : undefined,
      conditions,
    },
  };
}

export function report(overrides: Partial<InstallReport> = {}): InstallReport {
  return {
    schema: INSTALL_REPORT_SCHEMA,
    operation: 'install',
    ok: true,
    runtimes: [
      { name: 'wasmtime', version: '29.0.1', verified: true, adopted: false },
      { name: 'spin', version: '3.1.2', verified: true, adopted: false },
    ],
    changed: true,
    restarted: true,
    rolledBack: false,
    durationMs: 1200,
    ...overrides,
  };
}
