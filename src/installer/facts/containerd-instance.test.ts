import { describe, expect, it } from '@jest/globals';
import {
  commandCandidates,
  configAddress,
  configSettings,
  containerdInstances,
  kubeletEndpointFlag,
  selectContainerd,
} from './containerd-instance.ts';
import type { HostProcess } from '../host/proc.ts';

const proc = (
  pid: number,
  ppid: number,
  args: string[],
  exe?: string,
  path = '/usr/bin',
): HostProcess => ({
  pid,
  ppid,
  args,
  comm: (args[0] ?? '').split('/').pop() ?? '',
  exe,
  path,
});

// k3s starts containerd by the name `containerd` with its data dir first on PATH, where
// `containerd` is a symlink to the multicall k3s binary: /proc/PID/exe resolves to that.
const K3S_DATA =
  '/var/lib/rancher/k3s/data/2a9b8c1e4f7d3e6a0b5c8d1f4e7a0b3c6d9e2f5a8b1c4d7e0f3a6b9c2d5e8f1a';
const K3S_PATH = `${K3S_DATA}/bin:${K3S_DATA}/bin/aux:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

const procs = [
  proc(1, 0, ['/sbin/init']),
  proc(10, 1, ['/usr/local/bin/k3s', 'server']),
  proc(
    11,
    10,
    [
      'containerd',
      '-c',
      '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
      '-a',
      '/run/k3s/containerd/containerd.sock',
    ],
    `${K3S_DATA}/bin/k3s`,
    K3S_PATH,
  ),
  proc(20, 1, ['/usr/bin/containerd'], '/usr/bin/containerd'),
  proc(
    30,
    20,
    ['/usr/bin/containerd-shim-runc-v2', '-namespace', 'moby'],
    '/usr/bin/containerd-shim-runc-v2',
  ),
];

describe('containerd discovery', () => {
  const all = containerdInstances(procs, () => ({}));

  it('finds each containerd with its flags, defaults, binary and parents; never a shim', () => {
    expect(all.map((c) => [c.pid, c.configPath, c.address])).toEqual([
      [
        11,
        '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
        '/run/k3s/containerd/containerd.sock',
      ],
      [20, '/etc/containerd/config.toml', '/run/containerd/containerd.sock'],
    ]);
    expect(all[0]?.exe).toBe(`${K3S_DATA}/bin/k3s`);
    expect(all[0]?.ancestors[0]).toEqual(['/usr/local/bin/k3s', 'server']);
  });

  it('runs k3s’ containerd by the name it was started by, found on its PATH, not as the k3s CLI', () => {
    const k3s = procs[2] as HostProcess;
    expect(commandCandidates(k3s)[0]).toBe(`${K3S_DATA}/bin/containerd`);
    const exists = (p: string) => p === `${K3S_DATA}/bin/containerd`;
    const [found] = containerdInstances([k3s], () => ({}), exists);
    expect(found?.command).toBe(`${K3S_DATA}/bin/containerd`);
    // Without the link (or for containerd itself) the binary is run as it is.
    expect(containerdInstances([k3s], () => ({}))[0]?.command).toBe(`${K3S_DATA}/bin/k3s`);
    expect(all.find((c) => c.pid === 20)?.command).toBe('/usr/bin/containerd');
  });

  it('a multicall binary started by an absolute path is run by that path', () => {
    const rke = proc(9, 1, ['/opt/bin/containerd', '-c', '/x.toml'], '/opt/bin/multi');
    expect(commandCandidates(rke)).toEqual(['/opt/bin/containerd']);
  });

  it('picks the kubelet’s containerd when several run, or the one asked for', () => {
    expect(
      selectContainerd(all, { kubeletEndpoint: '/run/k3s/containerd/containerd.sock' }).pid,
    ).toBe(11);
    expect(selectContainerd(all, { socket: '/run/containerd/containerd.sock' }).pid).toBe(20);
  });

  it('never falls back to the only containerd when the kubelet talks to another socket (cri-dockerd)', () => {
    const docker = all.filter((c) => c.pid === 20);
    const attempt = () => selectContainerd(docker, { kubeletEndpoint: '/run/cri-dockerd.sock' });
    expect(attempt).toThrow(expect.objectContaining({ code: 'runtime-endpoint-mismatch' }));
    expect(attempt).toThrow(/\/run\/cri-dockerd.sock, which no containerd serves/);
  });

  it('refuses to guess between several', () => {
    expect(() => selectContainerd(all, {})).toThrow(/2 containerd processes.*--containerd-socket/);
    expect(() => selectContainerd(all, { socket: '/nope.sock' })).toThrow(
      /no containerd serves \/nope.sock/,
    );
    expect(() => selectContainerd([], {})).toThrow(/no containerd process found/);
  });

  it('takes the socket from the config when no flag sets it (v2/v3 [grpc], v4 server plugin)', () => {
    expect(configAddress({ grpc: { address: '/x.sock' } })).toBe('/x.sock');
    expect(
      configAddress({ plugins: { 'io.containerd.server.v1.grpc': { address: '/y.sock' } } }),
    ).toBe('/y.sock');
    const [fromConfig] = containerdInstances([proc(5, 1, ['containerd', '--config=/c.toml'])], () =>
      configSettings({ grpc: { address: '/z.sock' }, state: '/run/k3s/containerd' }),
    );
    expect(fromConfig).toMatchObject({ address: '/z.sock', statePath: '/run/k3s/containerd' });
  });

  it('the state directory: --state, else the config, else /run/containerd', () => {
    const flagged = proc(6, 1, ['containerd', '--state', '/run/x']);
    const [a, b] = containerdInstances([flagged, proc(7, 1, ['containerd'])], () => ({
      state: undefined,
    }));
    expect([a?.statePath, b?.statePath]).toEqual(['/run/x', '/run/containerd']);
  });

  it('reads the kubelet runtime endpoint flag', () => {
    const kubelet = proc(7, 1, [
      '/usr/bin/kubelet',
      '--container-runtime-endpoint=unix:///run/k.sock',
      '--config',
      '/var/lib/kubelet/config.yaml',
    ]);
    expect(kubeletEndpointFlag([kubelet])).toEqual({
      endpoint: '/run/k.sock',
      configFile: '/var/lib/kubelet/config.yaml',
    });
  });
});
