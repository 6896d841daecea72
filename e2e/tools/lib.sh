# Shared helpers for the tool-build scripts. Sourced, not run.
set -euo pipefail

CACHE_ROOT=${WASM_NODE_CACHE:-$HOME/.cache/wasm-node-operator}
mkdir -p "$CACHE_ROOT"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# A build writes into a temp dir and is renamed into place only when complete, so an
# interrupted build never leaves a half-filled cache entry that a later run would trust.
cached_build() { # NAME BUILD_FN -> prints the cache dir
  local name=$1 fn=$2 dir="$CACHE_ROOT/$1"
  if [ -f "$dir/.complete" ]; then echo "$dir"; return 0; fi
  local tmp="$dir.tmp.$$" start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp"
  log "building $name (cold; cached afterwards in $dir)"
  "$fn" "$tmp"
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
  log "built $name in $((SECONDS - start))s"
  echo "$dir"
}

# Go builds print nothing for minutes; a heartbeat shows the build is alive.
with_heartbeat() { # LABEL CMD...
  local label=$1; shift
  ( while sleep 30; do log "$label: still building ($((SECONDS))s)"; done ) &
  local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  return "$rc"
}
