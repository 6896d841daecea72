#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Tears the local cluster down (npm run cluster:down): destroys every node machine (each takes
# its pods, mounts, cgroups, netns and veth with it: e2e/machines/destroy.sh), stops the control
# plane by PID file, deletes the cluster bridge and removes the state. Safe after a crash and on
# a machine where nothing runs. Keeps $W/log and $W/images.
source "$(dirname "$0")/lib.sh"
require_root
[ -d "$W" ] || { log "no cluster in $W"; exit 0; }
problems=0
problem() { log "ERROR: $*"; problems=$((problems + 1)); }

pids=()
for env in "$WASM_NODE_MACHINES_DIR"/*/machine.env; do
  [ -f "$env" ] || continue
  name=$(basename "$(dirname "$env")")
  bash "$E2E_DIR/machines/destroy.sh" "$name" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || problem "a machine could not be destroyed (log above)"; done
stop_daemons "${CONTROL_PLANE[@]}"

for f in /proc/[0-9]*/cmdline; do
  cmd=$(tr '\0' ' ' 2>/dev/null < "$f") || continue
  if [[ $cmd == *"$W/"* ]]; then problem "process ${f//[^0-9]/} still runs from $W: $cmd"; fi
done
# Deepest first; lazy as a last resort so a busy mount cannot block the rest of the cleanup.
findmnt -rn -o TARGET | awk -v w="$W/" 'index($0, w) == 1' | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" || true
done
[ -z "$(findmnt -rn -o TARGET | awk -v w="$W/" 'index($0, w) == 1')" ] || problem "mounts remain under $W"
if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE" || problem "cannot delete bridge $BRIDGE"; fi

# Never delete through a mount point that is still there.
if [ "$problems" = 0 ]; then
  rm -rf --one-file-system "$RUN" "$VAR" "$PKI" "$BIN" "$WASM_NODE_MACHINES_DIR" "$W/cluster.json" \
    "$KUBECONFIG_ADMIN" "$W/host-state"
  log "cluster in $W is down"
else
  log "cluster in $W is down with $problems problem(s); state kept for inspection"
  exit 1
fi
