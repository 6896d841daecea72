import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { errorKind, FAILURE_CODES, REFUSAL_CODES } from '../errors.ts';
import { DEBIAN_INIT, fakeHostDeps, hostProcess, tempHostRoot } from '../host/testing.ts';
import type { OperationRequest } from '../request.ts';
import { runOperation } from './run-operation.ts';

let host: ReturnType<typeof tempHostRoot>;
beforeEach(() => {
  host = tempHostRoot();
});
afterEach(() => host.dispose());

describe('runOperation: refusals and the boot ID in the report', () => {
  const request = (operation: OperationRequest['operation']): OperationRequest => ({
    operation,
    runtimes: [],
    binDir: '/opt/wasm-node/bin',
    shimsDir: '/nonexistent',
    lockTimeoutMs: 1_000,
  });
  const deps = () =>
    fakeHostDeps(host.root, [DEBIAN_INIT, hostProcess(700, ['/usr/bin/containerd'])], {
      bootId: () => Promise.resolve('5f1c7c1e-0000-4000-8000-000000000001'),
    });

  it('an immutable OS is refused: kind refused, nothing changed, boot ID reported', async () => {
    writeFileSync(host.path('etc/os-release'), 'ID=talos\n');
    const report = await runOperation(request('status'), deps());
    expect(report).toMatchObject({
      ok: false,
      changed: false,
      bootId: '5f1c7c1e-0000-4000-8000-000000000001',
      error: { code: 'immutable-host', kind: 'refused' },
    });
  });

  it('a missing shims manifest is a failure of the image, not a refusal', async () => {
    const report = await runOperation(request('install'), deps());
    expect(report.error).toMatchObject({ code: 'manifest-invalid', kind: 'failed' });
  });
});

describe('errorKind', () => {
  it.each(REFUSAL_CODES)('%s is a refusal', (code) => expect(errorKind(code)).toBe('refused'));
  it.each(FAILURE_CODES)('%s is a failure', (code) => expect(errorKind(code)).toBe('failed'));
  it.each(['invalid-toml', 'handler-conflict', 'ambiguous-namespace'] as const)(
    'a config the patcher will not extend (%s) is the node’s to fix: refused',
    (code) => expect(errorKind(code)).toBe('refused'),
  );
  it('the patcher’s own self-check failing, or an unexpected error, is ours: failed', () => {
    expect(errorKind('verification-failed')).toBe('failed');
    expect(errorKind('internal')).toBe('failed');
  });
});
