import { describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  clusterDown,
  ensureCluster,
  nodeMachine,
  type ClusterInfo,
} from '../../test/support/cluster.ts';
import { loadKubeConfig } from '../../test/support/kube.ts';
import { mountsUnder } from '../../test/support/mounts.ts';
import { processesReferencing } from '../../test/support/host-processes.ts';
import { waitFor } from '../../test/support/wait.ts';

// Takes the shared cluster down, so it runs only when asked for, after the other e2e tests:
//   WASM_NODE_E2E_TEARDOWN=1 jest e2e/cluster/teardown.test.ts --selectProjects cluster
const enabled = process.env.WASM_NODE_E2E_TEARDOWN === '1';

/** What the kubelet sets at start (setupKernelTunables) and what CNI's bridge switches on. */
const KUBELET_AND_CNI_SYSCTLS = [
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
];

/** A long-running pod on every node, so each machine has a container, a shim and a netns. */
async function startSleepers(cluster: ClusterInfo): Promise<void> {
  const core = loadKubeConfig(cluster.kubeconfig).makeApiClient(CoreV1Api);
  for (const { name } of cluster.nodes) {
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: `sleeper-${name}` },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': name },
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
  }
  await waitFor(
    'a sleeper pod running on every node',
    async () => {
      const { items } = await core.listNamespacedPod({ namespace: 'default' });
      return items.filter((p) => p.status?.phase === 'Running').length === cluster.nodes.length;
    },
    { timeoutMs: 90_000 },
  );
}

/**
 * The sysctls a node could have touched if its /proc/sys were writable: the kubelet's and CNI's,
 * and every key its systemd would apply at boot (the rootfs's sysctl.d files).
 */
function sysctlsAtStake(cluster: ClusterInfo): string[] {
  const keys = new Set(KUBELET_AND_CNI_SYSCTLS);
  for (const { name } of cluster.nodes) {
    const env = readFileSync(path.join(cluster.machinesDir, name, 'machine.env'), 'utf8');
    const rootfs = /^ROOTFS=(.*)$/m.exec(env)?.[1] ?? '';
    for (const dir of ['usr/lib/sysctl.d', 'lib/sysctl.d', 'etc/sysctl.d']) {
      const full = path.join(rootfs, dir);
      if (!existsSync(full)) continue;
      for (const file of readdirSync(full).filter((f) => f.endsWith('.conf'))) {
        for (const line of readFileSync(path.join(full, file), 'utf8').split('\n')) {
          const key = /^-?([a-z0-9_.]+)\s*=/.exec(line.trim())?.[1];
          if (key) keys.add(key);
        }
      }
    }
  }
  return [...keys];
}

/** $WORKDIR/host-state: the VM's sysctls and /etc/hosts when the cluster first came up. */
function recordedHostState(workDir: string): { sysctls: Map<string, string>; hosts: string[] } {
  const sysctls = new Map<string, string>();
  const hosts: string[] = [];
  for (const line of readFileSync(path.join(workDir, 'host-state'), 'utf8').split('\n')) {
    const sysctl = /^sysctl (\S+) = (.*)$/.exec(line);
    if (sysctl) sysctls.set(sysctl[1] as string, sysctl[2] as string);
    if (line.startsWith('hosts ')) hosts.push(line.slice('hosts '.length));
  }
  return { sysctls, hosts };
}

const sysctl = (name: string): string | undefined => {
  const file = `/proc/sys/${name.replaceAll('.', '/')}`;
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
};

/** SIGKILL to every host process of the cluster: control plane, machine supervisors, nspawn. */
function killEverything(cluster: ClusterInfo): void {
  const pidFiles = [
    ...readdirSync(path.join(cluster.workDir, 'run')).map((f) =>
      path.join(cluster.workDir, 'run', f),
    ),
    ...cluster.nodes.flatMap(({ name }) =>
      ['supervisor.pid', 'nspawn.pid'].map((f) => path.join(cluster.machinesDir, name, 'run', f)),
    ),
  ].filter((f) => f.endsWith('.pid') && existsSync(f));
  for (const file of pidFiles) process.kill(Number(readFileSync(file, 'utf8')), 'SIGKILL');
}

const hostInterface = (machine: string) =>
  `wnm-${createHash('sha256').update(machine).digest('hex').slice(0, 10)}`;

(enabled ? describe : describe.skip)('npm run cluster:down', () => {
  it.each([
    ['a running cluster', false],
    ['a crashed cluster (every host process SIGKILLed, machines and pods left behind)', true],
  ])(
    'leaves no machine, process, mount, cgroup, bridge, hosts line or sysctl change after %s',
    async (_, crash) => {
      const cluster = await ensureCluster();
      await startSleepers(cluster);
      const recorded = recordedHostState(cluster.workDir);
      const sysctls = sysctlsAtStake(cluster);
      expect(sysctls.filter((k) => recorded.sysctls.has(k)).length).toBeGreaterThan(5);
      const names = cluster.nodes.map((n) => n.name);
      expect(await nodeMachine(cluster, names[0] ?? '').sh('systemctl is-active kubelet')).toMatch(
        /^active/,
      );
      if (crash) killEverything(cluster);

      await clusterDown();

      expect(await processesReferencing(cluster.workDir)).toEqual([]);
      expect(mountsUnder(cluster.workDir)).toEqual([]);
      expect(existsSync(cluster.machinesDir)).toBe(false);
      const cgroups = readdirSync('/sys/fs/cgroup').flatMap((h) =>
        names.map((n) => `/sys/fs/cgroup/${h}/nspawn/${n}`),
      );
      expect(cgroups.filter((c) => existsSync(c))).toEqual([]);
      const links = readdirSync('/sys/class/net');
      expect(
        links.filter((l) => l === cluster.bridge || names.map(hostInterface).includes(l)),
      ).toEqual([]);
      expect(names.filter((n) => existsSync(`/run/systemd/nspawn/propagate/${n}`))).toEqual([]);
      const changed = sysctls
        .filter((k) => recorded.sysctls.has(k) && sysctl(k) !== recorded.sysctls.get(k))
        .map((k) => `${k}: ${recorded.sysctls.get(k)} -> ${sysctl(k)}`);
      expect(changed).toEqual([]);
      expect(readFileSync('/etc/hosts', 'utf8').trimEnd().split('\n')).toEqual(recorded.hosts);
      expect(existsSync(path.join(cluster.workDir, 'run'))).toBe(false);
    },
    10 * 60_000,
  );
});
