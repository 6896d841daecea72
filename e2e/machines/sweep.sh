#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Destroys the machines whose owner process is gone (a test run that was killed before it could
# clean up). Machines without an owner (the cluster's) are left alone. Usage: sweep.sh
source "$(dirname "$0")/lib.sh"
require_root
for env in "$MACHINES"/*/machine.env; do
  [ -f "$env" ] || continue
  name=$(basename "$(dirname "$env")")
  owner=$(sed -n 's/^OWNER=//p' "$env")
  if [ -z "$owner" ] || [ "$owner" = "''" ]; then continue; fi
  # PID:START_TIME, so a recycled PID does not keep a dead owner's machine alive.
  pid=${owner%%:*} start=${owner#*:}
  # Field 22 of /proc/PID/stat, counted after the command name (which may hold spaces).
  if [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)" = "$start" ]; then continue; fi
  log "machine $name belongs to process $pid, which is gone: destroying it"
  bash "$MACHINES_LIB_DIR/destroy.sh" "$name"
done
