#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A machine's supervisor (started by boot.sh, not run by hand): puts itself into the machine's
# cgroup /nspawn/NAME in every hierarchy, then runs systemd-nspawn with /sbin/init as PID 1
# until the machine powers off. A reboot ends nspawn with 133: the machine is started again, as
# a VM's hypervisor would, with a fresh boot_id. SIGTERM shuts the machine down cleanly.
# Usage: run.sh NAME
# A daemon must not hold its starter's pipes open (`cluster:up | tee` would never end); 255 is
# the script bash reads.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-" 2>/dev/null; fi
done
source "$(dirname "$0")/lib.sh"
name=${1:?usage: run.sh NAME}
load_machine "$name"

stopping=false child=''
trap 'stopping=true; if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi' TERM INT

# Only nspawn goes into the machine's cgroup /nspawn/NAME (what is measured and killed as the
# machine); this supervisor stays where it was started.
enter_cgroups() {
  local h f
  for h in $(cgroup_hierarchies); do
    mkdir -p "$h/$CGROUP_PARENT/$name"
    # A new cpuset cgroup has no CPUs or memory nodes; it takes its parent's.
    for f in cpuset.cpus cpuset.mems; do
      [ -f "$h/$f" ] || continue
      [ -n "$(cat "$h/$CGROUP_PARENT/$f")" ] || cat "$h/$f" > "$h/$CGROUP_PARENT/$f"
      cat "$h/$f" > "$h/$CGROUP_PARENT/$name/$f"
    done
    echo "$BASHPID" > "$h/$CGROUP_PARENT/$name/cgroup.procs"
  done
}

# --register=no --keep-unit: the VM has no systemd or machined. /sbin/init (not --boot) makes
# PID 1's command line /sbin/init, as on real hosts, which init detection must cope with.
# @keyring: runc joins a session keyring, which nspawn's seccomp filter would refuse.
# SIGRTMIN+3 asks systemd to halt. /var/lib/containerd is a plain directory of the VM's disk:
# containerd's overlayfs snapshots cannot live on the machine's overlayfs root.
args=(-D "$M/root" --machine="$name" --register=no --keep-unit --capability=all
  --system-call-filter=@keyring --kill-signal=SIGRTMIN+3 --console=read-only --link-journal=no
  --resolv-conf=off --timezone=off --bind="$M/containerd:/var/lib/containerd")
if [ ${#NETWORK[@]} -gt 0 ]; then args+=(--network-namespace-path="$M/netns"); else args+=(--private-network); fi
for b in "${BINDS[@]}"; do
  if [[ $b == *:ro ]]; then args+=(--bind-ro="${b%:ro}"); else args+=(--bind="$b"); fi
done
# systemd 258 and later refuse the VM's cgroup v1 layout and boot only on the unified hierarchy
# (which has no controllers here: no kubelet on such a machine).
env=()
systemd_major=$(awk '$1 == "systemd" {print int($2)}' "$(dirname "$ROOTFS")/versions.txt")
if [ "${systemd_major:-0}" -ge 258 ]; then env=(SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1); fi

rc=0
while :; do
  echo "=== $(date -u +%FT%TZ) starting $name" >> "$M/run/console.log"
  (enter_cgroups && exec env "${env[@]}" systemd-nspawn "${args[@]}" /sbin/init) \
    >> "$M/run/console.log" 2>&1 </dev/null &
  child=$!
  echo "$child" > "$M/run/nspawn.pid"
  rc=''
  while [ -z "$rc" ]; do # a trapped signal interrupts wait; wait again until nspawn is gone
    status=0; wait "$child" || status=$?
    kill -0 "$child" 2>/dev/null || rc=$status
  done
  echo "=== $(date -u +%FT%TZ) nspawn exited $rc" >> "$M/run/console.log"
  if [ "$rc" = 133 ] && ! $stopping; then continue; fi
  break
done
rm -f "$M/run/nspawn.pid"
exit "$rc"
