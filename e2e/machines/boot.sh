#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Boots a machine made by create.sh and waits until systemd says the boot is done
# (`systemctl is-system-running --wait`: running, or degraded with the failed units logged).
# Prints the machine's leader PID (its PID 1 as the host sees it). A running machine is left
# alone. Usage: boot.sh NAME [TIMEOUT_SECONDS]
source "$(dirname "$0")/lib.sh"
name=${1:?usage: boot.sh NAME [TIMEOUT_SECONDS]} timeout=${2:-120}
require_root
load_machine "$name"
started=''
if ! supervisor_pid "$name" >/dev/null; then
  # After a crash of the host side the overlay or the netns may be gone: put them back.
  mountpoint -q "$M/root" || mount -t overlay overlay \
    -o "lowerdir=$ROOTFS,upperdir=$M/upper,workdir=$M/work" "$M/root"
  if [ ${#NETWORK[@]} -gt 0 ] && ! mountpoint -q "$M/netns"; then
    bash "$MACHINES_LIB_DIR/network.sh" down "$name"
    bash "$MACHINES_LIB_DIR/network.sh" up "$name"
  fi
  rm -f "$M/run/"*.pid
  [ -f "$M/run/console.log" ] && mv "$M/run/console.log" "$M/run/console.previous.log"
  # Detached from the caller's session and output, so the machine outlives `npm run`.
  setsid bash "$MACHINES_LIB_DIR/run.sh" "$name" >/dev/null 2>&1 </dev/null {LOG_FD}>&- &
  started=$!
  echo "$started" > "$M/run/supervisor.pid"
fi

console_tail() { echo "----- $M/run/console.log -----" >&2; tail -n 40 "$M/run/console.log" >&2 || echo "(no console log yet)" >&2; }
# The leader is looked up again on every round: right after a reboot request the old PID 1 is
# still shutting down. systemctl answers only once PID 1 serves its socket; until then it fails
# at once.
deadline=$((SECONDS + timeout)) state=''
while ((SECONDS < deadline)); do
  # The supervisor started here names run.sh only once its fork has exec'd (none of its command
  # lines does mid-exec): until bash has reaped it, it is alive whatever its command line says.
  supervisor_pid "$name" >/dev/null || { [ -n "$started" ] && kill -0 "$started" 2>/dev/null; } \
    || { console_tail; die "machine $name stopped while booting"; }
  if leader=$(leader_pid "$name"); then
    state=$(timeout "$((deadline - SECONDS))" nsenter --target "$leader" --all -- \
      /usr/bin/systemctl is-system-running --wait 2>/dev/null) || true
    case "$state" in running | degraded) break ;; esac
  fi
  sleep 0.2
done
case "$state" in
  running) ;;
  degraded) log "warning: machine $name booted degraded: $(in_machine "$name" systemctl --failed --plain --no-legend | tr '\n' ';')" ;;
  *) console_tail; die "machine $name did not finish booting within ${timeout}s (state: ${state:-none})" ;;
esac
echo "$leader"
