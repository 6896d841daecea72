# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers for the tool-build scripts. Sourced, not run.
set -euo pipefail

CACHE_ROOT=${WASM_NODE_CACHE:-$HOME/.cache/wasm-node-operator}

# Progress must reach the terminal (CI shows it) even inside a build function whose output is
# redirected into its build.log, so log() writes to the stderr this file was sourced with.
exec {LOG_FD}>&2
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&"$LOG_FD"; }

# A build writes into a temp dir and is renamed into place only when complete, so an
# interrupted build never leaves a half-filled cache entry that a later run would trust.
# A lock per entry makes concurrent callers (parallel test files, CI steps) wait for one
# build instead of running a second heavy build on the same 2 cores.
cached_build() { # NAME BUILD_FN -> prints the cache dir
  local name=$1 fn=$2 dir="$CACHE_ROOT/$1" lock
  if [ -f "$dir/.complete" ]; then echo "$dir"; return 0; fi
  mkdir -p "$CACHE_ROOT"
  exec {lock}>"$CACHE_ROOT/.$name.lock"
  if ! flock -n "$lock"; then
    log "waiting for a concurrent build of $name"
    flock "$lock"
  fi
  if [ -f "$dir/.complete" ]; then exec {lock}>&-; echo "$dir"; return 0; fi
  local tmp="$dir.tmp.$$" start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp"
  log "building $name (cold; cached afterwards in $dir)"
  # Callers run this in $(...), where set -e does not apply: check the build explicitly.
  if ! "$fn" "$tmp"; then
    rm -rf "$tmp"
    log "ERROR: building $name failed after $((SECONDS - start))s"
    return 1
  fi
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
  exec {lock}>&-
  log "built $name in $((SECONDS - start))s"
  echo "$dir"
}

# Go builds print nothing for minutes; a heartbeat shows the build is alive.
with_heartbeat() { # LABEL CMD...
  local label=$1 start=$SECONDS; shift
  ( while sleep 30; do log "$label: still building ($((SECONDS - start))s)"; done ) &
  local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return "$rc"
}
