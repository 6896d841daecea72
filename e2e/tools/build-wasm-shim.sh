#!/usr/bin/env bash
# Builds the test shim in e2e/shim (containerd-shim-wasmtime-v1, runtime_type
# io.containerd.wasmtime.v1) from crates.io and prints the binary's path. A sha256sum-format
# file <binary>.sha256 lies next to it.
#
# Cached by a hash of Cargo.toml, Cargo.lock, src/, this script, the rustc version and the
# profile, so any change rebuilds. The cargo target dir lives outside the repo and is shared
# between cache entries, so a source change recompiles only the shim crate, not its ~420 deps.
#   WASM_SHIM_PROFILE  cargo profile (default dev: half the CPU of release; see e2e/shim/Cargo.toml)
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
SHIM_DIR=$(cd "$(dirname "$0")/../shim" && pwd)
PROFILE=${WASM_SHIM_PROFILE:-dev}
BIN=containerd-shim-wasmtime-v1
export CARGO_TARGET_DIR=${WASM_SHIM_TARGET_DIR:-$CACHE_ROOT/cargo-target/wasm-shim}

command -v cargo >/dev/null || { log "cargo not found (needs Rust >= 1.95)"; exit 1; }
# protoc: containerd-client's build script; libseccomp: youki's libcontainer; the dbus crate's
# vendored C build needs only the compiler.
bash "$(dirname "$0")/ensure-packages.sh" protobuf-compiler libseccomp-dev pkg-config build-essential
export PROTOC=${PROTOC:-/usr/bin/protoc}

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
key=$( {
  (cd "$SHIM_DIR" && find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | xargs sha256sum)
  sha256sum < "$SELF"; rustc -V; echo "$PROFILE"
} | sha256sum | cut -c1-12)

build() {
  local out=$1 subdir
  case "$PROFILE" in dev) subdir=debug ;; *) subdir=$PROFILE ;; esac
  log "cargo build --profile $PROFILE (target dir $CARGO_TARGET_DIR)"
  # cargo reports each crate on stderr; the heartbeat covers the minutes-long silent crates
  # (cranelift-codegen, wasmtime).
  with_heartbeat "wasm shim" nice -n "${WASM_SHIM_NICE:-10}" \
    cargo build --locked --profile "$PROFILE" --manifest-path "$SHIM_DIR/Cargo.toml" --bin "$BIN" >&2
  mkdir -p "$out/bin"
  cp "$CARGO_TARGET_DIR/$subdir/$BIN" "$out/bin/$BIN"
  (cd "$out/bin" && sha256sum "$BIN" > "$BIN.sha256")
  # A shim that cannot even print its version must not enter the cache.
  "$out/bin/$BIN" -v >&2
}

dir=$(cached_build "wasm-shim-$key" build)
echo "$dir/bin/$BIN"
