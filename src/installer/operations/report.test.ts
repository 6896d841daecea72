import { describe, expect, it } from '@jest/globals';
import { terminationMessage } from './report.ts';
import {
  INSTALL_REPORT_SCHEMA,
  parseInstallReport,
  type InstallReport,
} from '../../formats/install-report.ts';

const report = (message: string): InstallReport => ({
  schema: INSTALL_REPORT_SCHEMA,
  operation: 'install',
  ok: false,
  runtimes: [],
  changed: false,
  restarted: false,
  rolledBack: false,
  durationMs: 12,
  error: { code: 'config-rejected', message, kind: 'failed' },
});

describe('termination message', () => {
  it('stays whole, parseable JSON within the kubelet’s 4096 bytes however long the error', () => {
    const text = terminationMessage(report('x'.repeat(10_000)));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    const parsed = parseInstallReport(text);
    expect(parsed.ok && parsed.report.error?.code).toBe('config-rejected');
  });

  it('leaves a short report untouched', () => {
    expect(JSON.parse(terminationMessage(report('short')))).toEqual(report('short'));
  });
});
