#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/../../e2e/tools
# The shims an installer image built here ships, in place of release downloads (which need
# GitHub): the test shim built from crates.io (e2e/tools/build-wasm-shim.sh) and, for
# installer-crun-wasm, the crun-wasm bundle from Debian's packages (e2e/tools/build-crun-wasm.sh).
# Prints a cache dir holding context/ (the Dockerfile's build context local-shims: one directory
# per runtime with its manifest-entry.json, as the shims stage takes them) and inputs (the
# checksums of everything in it, for images.sh's cache key).
# Usage: local-shims.sh installer|installer-corrupt|installer-crun-wasm
# installer-corrupt alters the shim after its checksum was taken, so the image ships a binary
# its manifest does not match: the installer must refuse it (the e2e checksum-mismatch case).
source "$(dirname "$0")/../../e2e/tools/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../../e2e/tools" && pwd)
VARIANT=${1:?usage: local-shims.sh installer|installer-corrupt|installer-crun-wasm}
case "$VARIANT" in installer | installer-corrupt | installer-crun-wasm) ;;
  *) log "local-shims.sh: unknown variant $VARIANT"; exit 2 ;; esac
BIN=containerd-shim-wasmtime-v1
if [ "${2:-}" = --build-into ]; then
  SHIM=$4 CRUN=${5:-}
else
  SHIM=$(bash "$TOOLS/build-wasm-shim.sh")
  CRUN=''
  [ "$VARIANT" != installer-crun-wasm ] || CRUN=$(bash "$TOOLS/build-crun-wasm.sh")
fi

# cached_build runs its function where `set -e` is off: the steps run in a process of their own.
if [ "${2:-}" = --build-into ]; then
  ctx=$3/context
  mkdir -p "$ctx/wasmtime"
  install -m 755 "$SHIM" "$ctx/wasmtime/$BIN"
  version=$("$SHIM" -v | awk '$1 == "Version:" {print $2}')
  jq -n --arg sha "$(cut -d' ' -f1 "$SHIM.sha256")" --arg version "$version" --arg bin "$BIN" \
    '{name: "wasmtime", version: $version, binary: $bin, sha256: $sha}' > "$ctx/wasmtime/manifest-entry.json"
  [ "$VARIANT" != installer-corrupt ] || printf 'tampered' >> "$ctx/wasmtime/$BIN"
  if [ -n "$CRUN" ]; then
    mkdir "$ctx/crun-wasm"
    cp -al "$CRUN/crun-wasm" "$CRUN/manifest-entry.json" "$ctx/crun-wasm/"
  fi
  (cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum) > "$3/inputs"
  exit 0
fi
build() { bash "$0" "$VARIANT" --build-into "$1" "$SHIM" "$CRUN"; }

key=$( (cat "$0" "$SHIM.sha256"; echo "$VARIANT $CRUN") | sha256sum | cut -c1-12)
cached_build "image-shims-$VARIANT-$key" build
