import { describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clusterDown, ensureCluster, type ClusterInfo } from '../../test/support/cluster.ts';
import { run } from '../../test/support/run-command.ts';
import { mountsUnder } from '../../test/support/mounts.ts';
import { processesReferencing } from '../../test/support/host-processes.ts';
import { loadKubeConfig } from '../../test/support/kube.ts';
import { waitFor } from '../../test/support/wait.ts';

// Takes the shared cluster down, so it runs only when asked for, after the other e2e tests:
//   WASM_NODE_E2E_TEARDOWN=1 jest e2e/cluster/teardown.test.ts --selectProjects cluster
const enabled = process.env.WASM_NODE_E2E_TEARDOWN === '1';

/** Starts a long-running pod, so down has a container, a shim, mounts and a netns to remove. */
async function startSleeper(cluster: ClusterInfo): Promise<{ sandbox: string; netns: string }> {
  const core = loadKubeConfig(cluster.kubeconfig).makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'sleeper' },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'localhost/busybox:local',
            imagePullPolicy: 'Never',
            command: ['sleep', '3600'],
          },
        ],
      },
    },
  });
  await waitFor(
    'pod sleeper to run',
    async () =>
      (await core.readNamespacedPod({ name: 'sleeper', namespace: 'default' })).status?.phase ===
      'Running',
    { timeoutMs: 60_000 },
  );
  const crictl = (args: string[]): Promise<string> =>
    run(cluster.crictl, ['--runtime-endpoint', `unix://${cluster.containerdSocket}`, ...args]);
  const sandbox = (await crictl(['pods', '--name', 'sleeper', '-q'])).trim();
  const inspect = JSON.parse(await crictl(['inspectp', sandbox])) as {
    info: { runtimeSpec: { linux: { namespaces: { type: string; path?: string }[] } } };
  };
  const netns = inspect.info.runtimeSpec.linux.namespaces.find((n) => n.type === 'network')?.path;
  if (!netns) throw new Error(`sandbox ${sandbox} has no network namespace path`);
  return { sandbox, netns };
}

/** Lines of $WORKDIR/host-state: what up recorded before changing the host. */
function recordedHostState(workDir: string): { sysctls: Map<string, string>; created: string[] } {
  const sysctls = new Map<string, string>();
  const created: string[] = [];
  for (const line of readFileSync(path.join(workDir, 'host-state'), 'utf8').split('\n')) {
    const [what, name, value] = line.split(' ');
    if (what === 'sysctl' && name && value !== undefined) sysctls.set(name, value);
    if (what === 'created' && name) created.push(name);
  }
  return { sysctls, created };
}

const sysctl = (name: string): string =>
  readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();

function killEverything(workDir: string): void {
  const runDir = path.join(workDir, 'run');
  // The supervisor first, or it would start containerd again.
  const order = ['containerd-supervisor.pid'];
  const pidFiles = [
    ...order,
    ...readdirSync(runDir).filter((f) => f.endsWith('.pid') && !order.includes(f)),
  ];
  for (const file of pidFiles) {
    process.kill(Number(readFileSync(path.join(runDir, file), 'utf8')), 'SIGKILL');
  }
}

(enabled ? describe : describe.skip)('npm run cluster:down', () => {
  it.each([
    ['a running cluster', false],
    ['a crashed cluster (every process SIGKILLed, pods left behind)', true],
  ])(
    'leaves no process and no host change behind after %s',
    async (_, crash) => {
      const cluster = await ensureCluster();
      const { sandbox, netns } = await startSleeper(cluster);
      const recorded = recordedHostState(cluster.workDir);
      expect(recorded.sysctls.size).toBeGreaterThan(0);
      if (crash) killEverything(cluster.workDir);

      await clusterDown();

      expect(await processesReferencing(cluster.workDir)).toEqual([]);
      expect(mountsUnder(cluster.workDir)).toEqual([]);
      expect(existsSync(netns)).toBe(false);
      expect(existsSync(`/sys/class/net/${cluster.bridge}`)).toBe(false);
      const kubepods = readdirSync('/sys/fs/cgroup')
        .map((controller) => `/sys/fs/cgroup/${controller}/kubepods`)
        .filter((dir) => existsSync(dir));
      expect(kubepods).toEqual([]);
      for (const [name, value] of recorded.sysctls)
        expect(`${name}=${sysctl(name)}`).toBe(`${name}=${value}`);
      expect(recorded.created.filter((p) => existsSync(p))).toEqual([]);
      const cniResults = existsSync('/var/lib/cni/results')
        ? readdirSync('/var/lib/cni/results')
        : [];
      expect(
        cniResults.filter((f) => f.startsWith(`${cluster.cniNetwork}-`) || f.includes(sandbox)),
      ).toEqual([]);
      expect(existsSync(path.join(cluster.workDir, 'run'))).toBe(false);
    },
    10 * 60_000,
  );
});
