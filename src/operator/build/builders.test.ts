import { describe, expect, it } from '@jest/globals';
import { testConfig } from '../testing/test-config.ts';
import { desiredHash, installerArgs } from './desired-state.ts';
import { buildInstallerJob } from './installer-job.ts';
import { buildRuntimeClass } from './runtime-class.ts';

const request = {
  nodeName: 'worker-1',
  nodeUid: 'uid-1',
  operation: 'install' as const,
  runtimes: ['wasmtime', 'spin'],
  hash: 'abc',
  attempt: 0,
  verifiedBy: '',
};

describe('installer Job builder', () => {
  const config = testConfig({
    installer: {
      image: 'inst:1',
      restartCommand: 'systemctl restart containerd',
      binDir: '/var/lib/wasm',
    },
  });
  const job = buildInstallerJob(request, config);
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;

  it('pins a privileged hostPID pod to the (Linux) node with host / at /host', () => {
    expect(pod.nodeName).toBe('worker-1');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.hostPID).toBe(true);
    expect(container.securityContext?.privileged).toBe(true);
    expect(pod.volumes).toEqual([
      { name: 'host-root', hostPath: { path: '/', type: 'Directory' } },
    ]);
    expect(container.volumeMounts).toEqual([{ name: 'host-root', mountPath: '/host' }]);
  });

  it('sets only args (the image entrypoint is the installer), with the optional flags', () => {
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual([
      'install',
      '--runtimes',
      'wasmtime,spin',
      '--host-root',
      '/host',
      '--restart-command',
      'systemctl restart containerd',
      '--bin-dir',
      '/var/lib/wasm',
    ]);
    expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('tolerates every taint, runs system-node-critical, and bounds retries and lifetime', () => {
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 3600,
    });
    expect(container.resources?.requests).toEqual({ cpu: '50m', memory: '64Mi' });
  });

  it('lets a drain wait for the installer to finish or roll back, and keeps the autoscaler from evicting it', () => {
    // The installer handles SIGTERM by finishing or restoring the config; the grace period
    // must cover its write → restart → verify → roll back worst case.
    expect(pod.terminationGracePeriodSeconds).toBe(600);
    expect(job.spec!.template.metadata?.annotations).toEqual({
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
    });
  });

  it('labels its pods with the Job name, which finds them on every Kubernetes version', () => {
    expect(job.spec!.template.metadata?.labels?.['wasm-node.dev/job']).toBe(job.metadata?.name);
  });

  it('is owned by the Node and labelled with operation and node hash', () => {
    expect(job.metadata?.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'worker-1', uid: 'uid-1', blockOwnerDeletion: false },
    ]);
    expect(job.metadata?.namespace).toBe('wasm-system');
    expect(job.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'wasm-node-operator',
      'wasm-node.dev/operation': 'install',
    });
    expect(job.metadata?.annotations).toMatchObject({
      'wasm-node.dev/node': 'worker-1',
      'wasm-node.dev/desired-hash': 'abc',
    });
  });

  it('uninstall Jobs pass the same flags with the uninstall verb', () => {
    expect(installerArgs('uninstall', ['spin'], testConfig().installer)).toEqual([
      'uninstall',
      '--runtimes',
      'spin',
      '--host-root',
      '/host',
    ]);
  });
});

describe('desired-state hash', () => {
  const installer = testConfig().installer;
  it('changes with the runtime set, the image and the args', () => {
    const base = desiredHash(['wasmtime', 'spin'], installer);
    expect(desiredHash(['wasmtime', 'spin'], installer)).toBe(base);
    expect(desiredHash(['wasmtime'], installer)).not.toBe(base);
    expect(desiredHash(['wasmtime', 'spin'], { ...installer, image: 'other:2' })).not.toBe(base);
    expect(desiredHash(['wasmtime', 'spin'], { ...installer, binDir: '/x' })).not.toBe(base);
  });
  it('ignores Job tuning that does not change what is installed', () => {
    expect(desiredHash(['spin'], { ...installer, activeDeadline: 1 })).toBe(
      desiredHash(['spin'], installer),
    );
  });
});

describe('RuntimeClass builder', () => {
  it('selects the steering ready label (one no kubelet can set), handler = name', () => {
    expect(buildRuntimeClass('spin', testConfig())).toEqual({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'spin', labels: { 'app.kubernetes.io/managed-by': 'wasm-node-operator' } },
      handler: 'spin',
      scheduling: {
        nodeSelector: { 'runtime.wasm-node.dev.node-restriction.kubernetes.io/spin': 'ready' },
      },
    });
    expect(
      buildRuntimeClass('spin', testConfig(), { readableSelector: true }).scheduling?.nodeSelector,
    ).toEqual({ 'runtime.wasm-node.dev/spin': 'ready' });
  });
  it('adds tolerations and overhead when configured', () => {
    const rc = buildRuntimeClass(
      'spin',
      testConfig({
        runtimeClass: {
          tolerations: [{ key: 'wasm', operator: 'Exists', effect: 'NoSchedule' }],
          overhead: { memory: '16Mi' },
        },
      }),
    );
    expect(rc.scheduling?.tolerations).toEqual([
      { key: 'wasm', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(rc.overhead).toEqual({ podFixed: { memory: '16Mi' } });
  });
});
