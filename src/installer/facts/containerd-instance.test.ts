import { describe, expect, it } from '@jest/globals';
import {
  configAddress,
  containerdInstances,
  kubeletEndpointFlag,
  selectContainerd,
} from './containerd-instance.ts';
import type { HostProcess } from '../host/proc.ts';

const proc = (pid: number, ppid: number, args: string[], exe?: string): HostProcess => ({
  pid,
  ppid,
  args,
  comm: (args[0] ?? '').split('/').pop() ?? '',
  exe,
  path: '/usr/bin',
});

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
    '/var/lib/rancher/k3s/data/abc/bin/containerd',
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
  const all = containerdInstances(procs, () => undefined);

  it('finds each containerd with its flags, defaults, binary and parents; never a shim', () => {
    expect(all.map((c) => [c.pid, c.configPath, c.address])).toEqual([
      [
        11,
        '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
        '/run/k3s/containerd/containerd.sock',
      ],
      [20, '/etc/containerd/config.toml', '/run/containerd/containerd.sock'],
    ]);
    expect(all[0]?.exe).toBe('/var/lib/rancher/k3s/data/abc/bin/containerd');
    expect(all[0]?.ancestors[0]).toEqual(['/usr/local/bin/k3s', 'server']);
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
    expect(
      containerdInstances([proc(5, 1, ['containerd', '--config=/c.toml'])], () => '/z.sock')[0]
        ?.address,
    ).toBe('/z.sock');
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
