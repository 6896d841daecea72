import type { ContainerdPaths } from './containerd-daemon.ts';

/**
 * A containerd 1.6-style (config version 2) base config that starts on the test VMs; callers
 * append their own tables (e.g. a runtime). The settings are the VM quirks from
 * notes/test-cluster.md §2.
 */
export function vmContainerdConfig(paths: ContainerdPaths): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2

[${cri}]
  # no securityfs, so no AppArmor
  disable_apparmor = true
  # no CAP_SYS_RESOURCE: runc fails writing a negative oom_score_adj otherwise
  restrict_oom_score_adj = true
  # a fixed streaming port would clash with other daemons on the machine
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  # no systemd on the VMs
  SystemdCgroup = false
  Root = "${paths.dir}/runc"

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${paths.dir}/net.d"
`;
}
