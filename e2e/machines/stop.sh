#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Shuts a machine down (systemd's halt, as `poweroff` would) and waits for it; kills it when it
# does not stop within TIMEOUT seconds (default 60). Keeps the machine for another boot.sh.
# Usage: stop.sh NAME [TIMEOUT_SECONDS]
source "$(dirname "$0")/lib.sh"
name=${1:?usage: stop.sh NAME [TIMEOUT_SECONDS]} timeout=${2:-60}
require_root
load_machine "$name"
supervisor=$(supervisor_pid "$name") || exit 0
kill -TERM "$supervisor"
for ((i = 0; i < timeout * 10; i++)); do
  kill -0 "$supervisor" 2>/dev/null || exit 0
  sleep 0.1
done
log "machine $name still runs ${timeout}s after the shutdown request; killing it"
# The leader too: its PID namespace, and every process in it, ends only with it.
leader=$(leader_pid "$name") || true
nspawn=$(cat "$M/run/nspawn.pid" 2>/dev/null) || true
kill -KILL "$supervisor" ${nspawn:+"$nspawn"} ${leader:+"$leader"} 2>/dev/null || true
