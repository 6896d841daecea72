/**
 * Why crun would refuse to start containers on this node, if it would. crun supports a cgroup
 * v1 ("legacy") or v2 ("unified") host, and a hybrid one only while the v2 hierarchy mounted
 * at /sys/fs/cgroup/unified has no controllers (crun 1.21 src/libcrun/cgroup.c: "cgroups in
 * hybrid mode not supported"). `unifiedControllers` is that hierarchy's cgroup.controllers as
 * containerd (and so crun) sees it, undefined where it is not mounted.
 */
export function crunCgroupRefusal(unifiedControllers: string | undefined): string | undefined {
  const controllers = unifiedControllers?.trim();
  if (!controllers) return undefined;
  return `crun cannot run containers on this node: its cgroups are hybrid (v1 and v2) and the v2 hierarchy at /sys/fs/cgroup/unified has controllers (${controllers}), which crun refuses ("cgroups in hybrid mode not supported"). Move those controllers to v1 or boot the node with cgroup v2 only, or leave crun-wasm out of the runtimes for this node`;
}
