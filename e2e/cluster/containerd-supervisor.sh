#!/usr/bin/env bash
# Keeps the cluster's containerd running the way systemd's Restart=always would: whenever it
# exits it is started again, after 1 s, backing off to 8 s while it keeps failing quickly (e.g.
# a broken config.toml, retried until the installer restores its backup). SIGUSR1 cuts a
# backoff short; SIGTERM stops containerd and the supervisor. CONTAINERD names another binary
# (tests run the installer against containerd 2.x the same way).
# up.sh copies this file to $WORKDIR/bin/containerd-supervisor: bash reads scripts while running
# them, so the long-lived loop must not run from a file that checkouts may rewrite.
set -uo pipefail
W=$(cd "$(dirname "$0")/.." && pwd)
pidfile=$W/run/containerd.pid
exec >>"$W/log/containerd.log" 2>&1
# containerd looks shims up by name on its PATH (1.6 ignores runtime_path), so it gets a node's
# PATH rather than that of whatever shell started the cluster (node_modules/.bin first, under
# npm). Its first directory belongs to the cluster, like a node's /usr/local/sbin: the shims
# the installer copies there stay out of sight of the other containerds on this machine.
mkdir -p "$W/usr/local/sbin"
export PATH=$W/usr/local/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { printf '[%s] supervisor: %s\n' "$(date +%H:%M:%S)" "$*"; }

stopping=0 child='' sleeper='' delay=1
trap 'stopping=1; kill -TERM $child $sleeper 2>/dev/null' TERM INT
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null' USR1

while [ "$stopping" = 0 ]; do
  started=$SECONDS
  "${CONTAINERD:-containerd}" --config "$W/etc/containerd/config.toml" &
  child=$!
  echo "$child" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
  say "started containerd (pid $child)"
  # A trapped signal interrupts `wait`; keep waiting until the child has really exited.
  while :; do
    wait "$child"; rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  rm -f "$pidfile"; child=''
  [ "$stopping" = 1 ] && break
  # A clean exit is a requested restart, a long run a one-off crash: neither backs off.
  if [ "$rc" = 0 ] || ((SECONDS - started >= 10)); then delay=1; fi
  say "containerd exited with status $rc; restarting in ${delay}s"
  sleep "$delay" & sleeper=$!
  wait "$sleeper" 2>/dev/null; sleeper=''
  delay=$((delay < 8 ? delay * 2 : 8))
done
say "stopped"
