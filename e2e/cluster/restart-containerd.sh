#!/usr/bin/env bash
# Restarts the cluster's containerd through its supervisor, like `systemctl restart containerd`.
# Contract: exits 0 once a NEW containerd process serves the socket; exits non-zero with the log
# tail when that does not happen within RESTART_TIMEOUT seconds (default 60) or when the
# supervisor is not running. Installed as $WORKDIR/bin/restart-containerd and self-contained
# (the installer runs it through nsenter in the host's namespaces).
set -euo pipefail
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
W=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
sock=$W/run/containerd/containerd.sock pidfile=$W/run/containerd.pid
timeout=${RESTART_TIMEOUT:-60}
fail() {
  echo "restart-containerd: $*" >&2
  echo "----- last lines of $W/log/containerd.log -----" >&2
  tail -n 40 "$W/log/containerd.log" >&2 || true
  exit 1
}
ours() { tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | grep -qF "$W"; }

sup=$(cat "$W/run/containerd-supervisor.pid" 2>/dev/null || true)
if [ -z "$sup" ] || ! ours "$sup"; then fail "the containerd supervisor of $W is not running"; fi
old=$(cat "$pidfile" 2>/dev/null || true)
if [ -n "$old" ] && ours "$old"; then
  kill -TERM "$old"
else
  old=''
  kill -USR1 "$sup" # containerd is down (e.g. a bad config): retry now instead of after the backoff
fi
deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
  new=$(cat "$pidfile" 2>/dev/null || true)
  # The supervisor writes the new PID only after the old process has exited, so an answer on
  # the socket while the PID file names a different, live process comes from the new one.
  if [ -n "$new" ] && [ "$new" != "$old" ] && ours "$new" \
    && timeout 5 ctr --address "$sock" version >/dev/null 2>&1 \
    && [ "$(cat "$pidfile" 2>/dev/null)" = "$new" ]; then
    echo "containerd restarted (pid ${old:-none} -> $new)"
    exit 0
  fi
  sleep 0.2
done
fail "no new containerd served $sock within ${timeout}s"
