# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034 # (the settings are for the sourcing scripts)
# Shared settings and helpers of the machine scripts (systemd-nspawn machines booted from Debian
# rootfs, README.md here). Sourced, not run.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"

MACHINES_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Where machines live: one directory per machine. The cluster points this at its own work dir.
MACHINES=${WASM_NODE_MACHINES_DIR:-/var/lib/wasm-node-machines}
# Every hierarchy of the VM's cgroup v1 layout (and the unified one) gets /nspawn/NAME: the
# machine's cgroup namespace is rooted there, so its kubepods never mix with anyone else's.
CGROUP_PARENT=nspawn

die() { log "ERROR: $*"; exit 1; }
require_root() { [ "$(id -u)" = 0 ] || die "machines need root (mounts, cgroups, namespaces); run as root"; }
# A machine name is its hostname, its Kubernetes node name and its cgroup's name.
valid_name() { [[ $1 =~ ^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$ ]]; }

machine_dir() { echo "$MACHINES/$1"; }
# The machine's settings, written by create.sh: SUITE, CONTAINERD, NETWORK, BINDS...
load_machine() { # NAME -> sets M and the machine.env variables
  valid_name "$1" || die "invalid machine name '$1' (lowercase letters, digits, '-')"
  M=$(machine_dir "$1")
  [ -f "$M/machine.env" ] || die "no machine $1 in $MACHINES"
  # shellcheck source=/dev/null
  source "$M/machine.env"
}

cgroup_hierarchies() { # every mounted cgroup hierarchy that can hold processes
  local h
  for h in /sys/fs/cgroup/*/; do [ -f "$h/cgroup.procs" ] && echo "${h%/}"; done
  if [ -f /sys/fs/cgroup/cgroup.procs ]; then echo /sys/fs/cgroup; fi
}

# The process that runs as the machine's PID 1: nspawn's child whose innermost PID is 1.
leader_pid() { # NAME -> prints the PID, fails when the machine is not running
  local m nspawn child
  m=$(machine_dir "$1")
  nspawn=$(cat "$m/run/nspawn.pid" 2>/dev/null) || return 1
  for child in $(cat "/proc/$nspawn/task/"*/children 2>/dev/null); do
    if grep -qE '^NSpid:\s+[0-9]+\s+1$' "/proc/$child/status" 2>/dev/null; then
      echo "$child"; return 0
    fi
  done
  return 1
}

# PID of the machine's supervisor (run.sh), trusted only while its command line names the
# machine: a recycled PID must never be signalled.
supervisor_pid() { # NAME
  local m pid
  m=$(machine_dir "$1")
  pid=$(cat "$m/run/supervisor.pid" 2>/dev/null) || return 1
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "run.sh $1 " || return 1
  echo "$pid"
}

# Runs a command in all the machine's namespaces, with the environment a root shell in the
# machine would have rather than the caller's.
in_machine() { # NAME CMD...
  local name=$1 pid; shift
  pid=$(leader_pid "$name") || die "machine $name is not running"
  nsenter --target "$pid" --all -- /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
