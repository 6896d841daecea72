#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Tears the test cluster down (npm run cluster:down) and undoes its host changes: stops every
# process it started (by PID file, plus containerd shims and pod processes, which outlive
# containerd by design), removes pod sandboxes, mounts, network namespaces, the bridge, the
# kubepods cgroups and the paths the kubelet created, and restores the recorded sysctls.
# Safe after a crash and on a machine where nothing runs. Keeps $W/log and $W/images.
source "$(dirname "$0")/lib.sh"
require_root
[ -d "$W" ] || { log "no cluster in $W"; exit 0; }
problems=0
problem() { log "ERROR: $*"; problems=$((problems + 1)); }

# Container IDs and network namespaces of our sandboxes, read before containerd's state dir
# goes away; used only if containerd cannot clean up itself (crash).
tasks=$RUN/containerd/io.containerd.runtime.v2.task/k8s.io
ids=$(ls "$tasks" 2>/dev/null || true)
netns=$(grep -hoE '/(var/)?run/netns/cni-[0-9a-f-]+' "$tasks"/*/config.json 2>/dev/null | sort -u || true)

stop_daemons kubelet
if alive containerd && timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1 && [ -x "$BIN/crictl" ]; then
  # Through CRI so containerd runs CNI DEL, removes the netns and releases the pod IPs.
  timeout 120 "$BIN/crictl" --timeout 60s rmp --all --force >/dev/null 2>&1 \
    || log "warning: crictl rmp --all failed; falling back to killing pod processes"
fi
stop_daemons "${CONTROL_PLANE[@]}"
stop_daemons containerd-supervisor
stop_daemons containerd # only still there when its supervisor had died

pids_of_ours() { # shims serving our containerd, and anything still in the kubelet's pod cgroups
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null < "$p/cmdline" | grep -qF -- "-address $SOCK " && echo "${p#/proc/}"
  done
  find /sys/fs/cgroup -path '*/kubepods*' -name cgroup.procs -exec cat {} + 2>/dev/null
}
for ((i = 0; i < 50; i++)); do
  leftover=$(pids_of_ours | sort -u)
  [ -z "$leftover" ] && break
  # shellcheck disable=SC2086 # one PID per word
  kill -KILL $leftover 2>/dev/null || true
  sleep 0.1
done
[ -z "$(pids_of_ours)" ] || problem "processes survived SIGKILL: $(pids_of_ours | tr '\n' ' ')"

# Deepest first; lazy as a last resort so a busy mount cannot block the rest of the cleanup.
findmnt -rn -o TARGET | awk -v w="$W/" 'index($0, w) == 1' | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" || true
done
for n in $netns; do
  [ -e "$n" ] || continue
  umount "$n" 2>/dev/null || true
  rm -f "$n"
done
[ -z "$(findmnt -rn -o TARGET | awk -v w="$W/" 'index($0, w) == 1')" ] || problem "mounts remain under $W"

find /sys/fs/cgroup -depth -type d -path '*/kubepods*' -exec rmdir {} + 2>/dev/null || true
[ -z "$(find /sys/fs/cgroup -type d -name 'kubepods*' 2>/dev/null)" ] || problem "kubepods cgroups remain"
if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" || problem "cannot delete bridge $BRIDGE"; fi
# CNI result cache (libcni's, shared by every containerd on the machine): our network's, and
# the loopback entries of our sandboxes.
rm -f /var/lib/cni/results/"$CNI_NETWORK"-*
for id in $ids; do rm -f "/var/lib/cni/results/cni-loopback-$id-lo"; done

if [ -f "$W/host-state" ]; then
  while read -r what name value; do
    case "$what" in
      sysctl) sysctl -q -w "$name=$value" || problem "cannot restore $name=$value" ;;
      created) rm -rf --one-file-system "$name" ;;
      created-shared) rmdir "$name" 2>/dev/null || true ;;
    esac
  done < "$W/host-state"
fi

# Never delete through a mount point that is still there (a pod may have had / mounted).
if [ "$problems" = 0 ]; then
  rm -rf --one-file-system "$RUN" "$VAR" "$ETC" "$PKI" "$BIN" "${W:?}/usr" "$W/cluster.json" "$KUBECONFIG_ADMIN" \
    "$W/host-state"
  log "cluster in $W is down"
else
  log "cluster in $W is down with $problems problem(s); state kept for inspection"
  exit 1
fi
