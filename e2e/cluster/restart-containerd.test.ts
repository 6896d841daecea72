import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureCluster, type ClusterInfo } from '../../test/support/cluster.ts';
import { run } from '../../test/support/run-command.ts';
import { kubectlFor } from '../../test/support/kube.ts';

// The contract the installer relies on: $WORKDIR/bin/restart-containerd exits 0 once a new
// containerd serves the socket, and non-zero (with the log tail) when none does in time; the
// supervisor keeps retrying a broken config, so restoring the file brings containerd back.
describe('restart-containerd', () => {
  let cluster: ClusterInfo;
  let original: string;
  const containerdPid = (): number =>
    Number(readFileSync(`${cluster.workDir}/run/containerd.pid`, 'utf8'));

  beforeAll(async () => {
    cluster = await ensureCluster();
    original = readFileSync(cluster.containerdConfig, 'utf8');
  }, 60 * 60_000);

  afterAll(async () => {
    // Never leave a broken config behind for the next test file.
    if (original && readFileSync(cluster.containerdConfig, 'utf8') !== original) {
      writeFileSync(cluster.containerdConfig, original);
      await run(cluster.restartContainerd, [], { timeoutMs: 90_000 });
    }
  });

  it('replaces the running containerd and the node keeps running pods', async () => {
    const before = containerdPid();
    const out = await run(cluster.restartContainerd, [], { timeoutMs: 90_000 });
    const after = containerdPid();
    expect(after).not.toBe(before);
    expect(out).toContain(`pid ${before} -> ${after}`);

    const kubectl = kubectlFor(cluster.kubectl, cluster.kubeconfig);
    const pod = `after-restart-${Date.now().toString(36)}`;
    await kubectl([
      'run',
      pod,
      '--image=localhost/busybox:local',
      '--image-pull-policy=Never',
      '--restart=Never',
      '--command',
      '--',
      'echo',
      'alive',
    ]);
    try {
      await kubectl(
        ['wait', '--for=jsonpath={.status.phase}=Succeeded', `pod/${pod}`, '--timeout=60s'],
        { timeoutMs: 70_000 },
      );
      expect(await kubectl(['logs', pod])).toContain('alive');
    } finally {
      await kubectl(['delete', 'pod', pod, '--wait=false']);
    }
  }, 120_000);

  it('fails with the log tail on a broken config, and recovers once the config is restored', async () => {
    const backup = `${cluster.containerdConfig}.test-backup`;
    copyFileSync(cluster.containerdConfig, backup);
    writeFileSync(cluster.containerdConfig, `${original}\nthis is not toml [\n`);
    const failed = await run('bash', ['-c', `RESTART_TIMEOUT=5 ${cluster.restartContainerd}`], {
      timeoutMs: 30_000,
    }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/no new containerd served .* within 5s/);
    expect(failed).toContain('failed to load TOML');

    copyFileSync(backup, cluster.containerdConfig);
    const out = await run(cluster.restartContainerd, [], { timeoutMs: 90_000 });
    expect(out).toMatch(/^containerd restarted \(pid none -> \d+\)/);
    await run(cluster.crictl, ['--runtime-endpoint', `unix://${cluster.containerdSocket}`, 'info']);
  }, 120_000);
});
