# Shared settings and helpers of the local cluster scripts. Sourced, not run.
# shellcheck source=../tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${WASM_NODE_CLUSTER_DIR:-/var/lib/wasm-node-e2e}
RUN=$W/run LOGD=$W/log ETC=$W/etc VAR=$W/var PKI=$W/pki BIN=$W/bin
SOCK=$RUN/containerd/containerd.sock
KUBECONFIG_ADMIN=$W/admin.kubeconfig

# Fixed ports outside the kernel's ephemeral range (32768+), so they never collide with the
# random ports of control-plane-only test instances running next to the cluster.
ETCD_PORT=12379 ETCD_PEER_PORT=12380 APISERVER_PORT=16443 KUBELET_PORT=10250
CNI_NETWORK=wasm-e2e BRIDGE=wasme2e0 POD_SUBNET=10.244.0.0/24 SERVICE_RANGE=10.96.0.0/24
# What up records and down restores: the kubelet rewrites the first three at start
# (setupKernelTunables), the CNI bridge plugin (isGateway) switches on forwarding.
HOST_SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward)
# Paths outside the work dir that the kubelet creates (hard-coded in 1.34).
HOST_PATHS=(/var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/containers)
# Order matters for down: the kubelet first so it recreates nothing, etcd last.
CONTROL_PLANE=(kubelet kube-scheduler kube-controller-manager kube-apiserver etcd)

die() { log "ERROR: $*"; exit 1; }
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
  # in place and $! is the daemon itself.
  setsid "$@" >>"$LOGD/$name.log" 2>&1 </dev/null &
  echo $! > "$(pidfile "$name")"
}

stop_pid() { # PID [GRACE_SECONDS]
  local pid=$1 grace=${2:-20} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $pid ignored SIGTERM for ${grace}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_daemon() { # NAME [GRACE_SECONDS]
  local pid
  if pid=$(pid_of "$1"); then log "stopping $1 (pid $pid)"; stop_pid "$pid" "${2:-20}"; fi
  rm -f "$(pidfile "$1")"
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

render() { # TEMPLATE OUT ; fills the @NAME@ placeholders of e2e/cluster/config files
  mkdir -p "$(dirname "$2")"
  sed -e "s|@WORKDIR@|$W|g" -e "s|@SOCK@|$SOCK|g" -e "s|@CNI_NETWORK@|$CNI_NETWORK|g" \
    -e "s|@BRIDGE@|$BRIDGE|g" -e "s|@POD_SUBNET@|$POD_SUBNET|g" -e "s|@KUBELET_PORT@|$KUBELET_PORT|g" \
    "$1" > "$2"
}
