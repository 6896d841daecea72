#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Removes a machine and everything it put on the host: stops it, kills what is left in its
# cgroups, removes its network (veth, netns), unmounts its overlay and binds, removes its
# cgroups and nspawn's run-time directory, then its directory. Safe on a half-created or
# crashed machine and on one that does not exist. Usage: destroy.sh NAME
source "$(dirname "$0")/lib.sh"
name=${1:?usage: destroy.sh NAME}
require_root
valid_name "$name" || die "invalid machine name '$name'"
M=$(machine_dir "$name")
if [ -f "$M/machine.env" ]; then
  bash "$MACHINES_LIB_DIR/stop.sh" "$name" 30
  bash "$MACHINES_LIB_DIR/network.sh" down "$name"
fi

cgroups() { for h in $(cgroup_hierarchies); do [ -d "$h/$CGROUP_PARENT/$name" ] && echo "$h/$CGROUP_PARENT/$name"; done; }
for ((i = 0; i < 50; i++)); do
  pids=$(for c in $(cgroups); do find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null; done | sort -u)
  [ -z "$pids" ] && break
  # shellcheck disable=SC2086 # one PID per word
  kill -KILL $pids 2>/dev/null || true
  sleep 0.1
done
[ -z "$pids" ] || die "processes of machine $name survived SIGKILL: $pids"
for c in $(cgroups); do find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
[ -z "$(cgroups)" ] || die "cannot remove the cgroups of machine $name: $(cgroups)"
for h in $(cgroup_hierarchies); do rmdir "$h/$CGROUP_PARENT" 2>/dev/null || true; done

# Deepest first; lazily as a last resort, so one busy mount cannot block the rest.
findmnt -rn -o TARGET | awk -v m="$M/" 'index($0 "/", m) == 1' | sort -r | while read -r mnt; do
  umount "$mnt" 2>/dev/null || umount -l "$mnt"
done
# nspawn's run-time directory on the host; its parents only once no machine uses them.
rm -rf /run/systemd/nspawn/propagate/"$name"
rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/locks /run/systemd/nspawn 2>/dev/null || true
[ -z "$(findmnt -rn -o TARGET | awk -v m="$M/" 'index($0 "/", m) == 1')" ] || die "mounts remain under $M"
rm -rf --one-file-system "$M"
log "machine $name destroyed"
