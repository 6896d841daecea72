# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034 # (the settings are for the sourcing scripts)
# Shared settings and helpers of the local cluster scripts. Sourced, not run.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${WASM_NODE_CLUSTER_DIR:-/var/lib/wasm-node-e2e}
RUN=$W/run LOGD=$W/log VAR=$W/var PKI=$W/pki BIN=$W/bin
KUBECONFIG_ADMIN=$W/admin.kubeconfig
# The worker nodes are machines (e2e/machines), kept here rather than with tests' machines.
export WASM_NODE_MACHINES_DIR=$W/machines

# Fixed ports outside the kernel's ephemeral range (32768+), so they never collide with the
# random ports of control-plane-only test instances running next to the cluster.
ETCD_PORT=12379 ETCD_PEER_PORT=12380 APISERVER_PORT=16443
# The cluster network: a host bridge the machines' eth0 hang off. The apiserver listens on the
# bridge address; node N is .(10+N) and runs its pods in 10.244.N.0/24 inside the machine.
BRIDGE=wne2e0 NETWORK_PREFIX=10.250.0 SERVICE_RANGE=10.96.0.0/24
GATEWAY=$NETWORK_PREFIX.1
SERVER=https://$GATEWAY:$APISERVER_PORT
# The default workers: Debian 12 (containerd 1.6.20), Debian 13 (1.7.24), Debian 13 with
# upstream containerd 2.4.2. SUITE[:CONTAINERD], comma-separated; WASM_NODE_CLUSTER_NODES or
# up.sh --nodes picks others. Debian unstable cannot run a kubelet here (e2e/machines/README.md).
DEFAULT_NODES=bookworm,trixie,trixie:v2.4.2
CONTROL_PLANE=(kube-scheduler kube-controller-manager kube-apiserver etcd)

die() { log "ERROR: $*"; exit 1; }
# down deletes below it: only a dedicated absolute directory, at least two levels deep.
if [[ $W != /?*/?* ]]; then die "WASM_NODE_CLUSTER_DIR must be an absolute path like /var/lib/x, not '$W'"; fi
require_root() { [ "$(id -u)" = 0 ] || die "the local cluster needs root (cgroups, mounts, bridge); run as root"; }

pidfile() { echo "$RUN/$1.pid"; }
# The PID is trusted only while its command line still names our work dir: a recycled PID
# must never be signalled.
pid_of() { # NAME -> prints the PID of the running component, fails otherwise
  local f pid; f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF "$W" || return 1
  echo "$pid"
}
alive() { pid_of "$1" >/dev/null; }

start_daemon() { # NAME CMD... ; detached from this shell's session so it outlives `npm run`
  local name=$1; shift
  mkdir -p "$LOGD" "$RUN"
  # In a non-interactive shell a background job is no process-group leader, so setsid execs
  # in place and $! is the daemon itself. LOG_FD is closed too: a daemon holding the caller's
  # stderr open would make `cluster:up | tee` (or a test runner reading it) wait forever.
  setsid "$@" >>"$LOGD/$name.log" 2>&1 </dev/null {LOG_FD}>&- &
  echo $! > "$(pidfile "$name")"
}

# Zombies count as gone: orphans are reaped by PID 1, which on these VMs takes a second or two.
any_alive() {
  local p state
  for p in "$@"; do
    state=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ] && return 0
  done
  return 1
}

stop_daemons() { # NAME... ; SIGTERM to all at once, SIGKILL to whatever still runs after 20 s
  local name pid pids=() i
  for name in "$@"; do
    if pid=$(pid_of "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$(pidfile "$name")"
  done
  for ((i = 0; i < 200; i++)); do
    any_alive "${pids[@]}" || return 0
    sleep 0.1
  done
  log "still running 20s after SIGTERM, killing: ${pids[*]}"
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

log_tail() { # NAME
  local f="$LOGD/$1.log"
  [ -f "$f" ] || return 0
  echo "----- last lines of $f -----" >&2
  tail -n "${LOG_TAIL_LINES:-40}" "$f" >&2
  echo "-----" >&2
}

# Polls CHECK (a command or function that must itself be bounded) every 0.2 s. Fails fast
# when the component died, and always with the component's log tail.
wait_for() { # TIMEOUT_SECONDS WHAT COMPONENT CHECK...
  local timeout=$1 what=$2 comp=$3 deadline; shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$comp"; then log "ERROR: $comp exited while waiting for $what"; log_tail "$comp"; return 1; fi
    if ((SECONDS >= deadline)); then
      log "ERROR: timed out after ${timeout}s waiting for $what"; log_tail "$comp"; return 1
    fi
    sleep 0.2
  done
}

CLOCK_START=$(date +%s%N)
step() { log "$(printf '%6.1fs' "$(( ($(date +%s%N) - CLOCK_START) / 1000000 ))e-3")  $*"; }

# Node N of a SUITE[:CONTAINERD] spec: its name (also its hostname), address and pod subnet.
node_name() { # INDEX SPEC
  local suite=${2%%:*} containerd=distro
  [[ $2 == *:* ]] && containerd=${2#*:}
  if [ "$containerd" = distro ]; then echo "e2e-$1-$suite"; else echo "e2e-$1-$suite-${containerd//./-}"; fi
}
node_address() { echo "$NETWORK_PREFIX.$((10 + $1))"; }
node_subnet() { echo "10.244.$1.0/24"; }
