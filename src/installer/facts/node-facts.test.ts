import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { DEBIAN_INIT, fakeHostDeps, hostProcess, tempHostRoot } from '../host/testing.ts';
import type { OperationRequest } from '../request.ts';
import { gatherFacts } from './node-facts.ts';

let host: ReturnType<typeof tempHostRoot>;
beforeEach(() => {
  host = tempHostRoot();
});
afterEach(() => host.dispose());

const status: OperationRequest = {
  operation: 'status',
  runtimes: [],
  binDir: '/opt/wasm-node/bin',
  shimsDir: '/nonexistent',
  lockTimeoutMs: 1_000,
};
const containerd = hostProcess(700, ['/usr/bin/containerd']);

describe('gatherFacts: the restart method of a stock Debian node', () => {
  it('systemd started as /sbin/init restarts containerd through systemctl, not rc-service', async () => {
    mkdirSync(host.path('run/systemd/system'), { recursive: true });
    const facts = await gatherFacts(status, fakeHostDeps(host.root, [DEBIAN_INIT, containerd]));
    expect(facts.flavour.restart).toEqual({ kind: 'systemd', unit: 'containerd' });
  });
});

describe('gatherFacts: sockets compared as real paths', () => {
  it('a kubelet on unix:///var/run/… picks the containerd serving /run/…, beside Docker’s', async () => {
    symlinkSync('../run', host.path('var/run'));
    const kubelet = hostProcess(50, [
      '/usr/bin/kubelet',
      '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
    ]);
    const docker = hostProcess(800, [
      '/usr/bin/containerd',
      '--address',
      '/var/run/docker/containerd/containerd.sock',
    ]);
    const procs = [DEBIAN_INIT, kubelet, docker, containerd];
    const facts = await gatherFacts(status, fakeHostDeps(host.root, procs));
    expect(facts.containerd).toMatchObject({
      pid: 700,
      address: '/run/containerd/containerd.sock',
    });
  });
});

describe('gatherFacts: k3s, whose containerd is the multicall k3s binary', () => {
  const data = '/var/lib/rancher/k3s/data/2a9b8c1e';
  const k3s = hostProcess(
    900,
    [
      'containerd',
      '-c',
      '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
      '-a',
      '/run/k3s/containerd/containerd.sock',
    ],
    { exe: `${data}/bin/k3s`, path: `${data}/bin:/usr/local/bin:/usr/bin:/bin` },
  );

  it('takes the release from CRI Version, and runs containerd by the name it was started by', async () => {
    mkdirSync(host.path(`${data}/bin`), { recursive: true });
    writeFileSync(host.path(`${data}/bin/k3s`), '');
    symlinkSync('k3s', host.path(`${data}/bin/containerd`));
    const ran: string[][] = [];
    const deps = fakeHostDeps(
      host.root,
      [DEBIAN_INIT, hostProcess(10, ['/usr/local/bin/k3s', 'agent']), k3s],
      {
        // The binary behind the process answers as the k3s CLI would.
        exec: {
          run: (argv) => {
            ran.push([...argv]);
            return Promise.resolve({
              code: 0,
              stdout: 'k3s version v1.30.6+k3s1 (1829eaae)\n',
              stderr: '',
            });
          },
        },
        criVersion: () =>
          Promise.resolve({ runtimeName: 'containerd', runtimeVersion: 'v1.7.23-k3s2' }),
      },
    );
    const facts = await gatherFacts({ ...status, operation: 'uninstall' }, deps);
    expect(facts.flavour.flavour).toBe('k3s');
    expect(facts.containerd.command).toBe(`${data}/bin/containerd`);
    expect(facts.version).toMatchObject({ major: 1, minor: 7 });
    expect(ran).toEqual([]);
  });
});
