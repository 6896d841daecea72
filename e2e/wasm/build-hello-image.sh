#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the WASI hello module (hello.wat -> hello.wasm, wabt's wat2wasm) and the OCI archive
# localhost/wasm-hello:v1 with it as /hello.wasm and entrypoint (via e2e/images/build-image.sh:
# buildah FROM scratch, vfs storage, offline). Prints the archive path; import it with
# e2e/images/import.sh or `ctr -n k8s.io images import`. Cached by the content of hello.wat
# and of the two scripts.
source "$(dirname "$0")/../tools/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGES=$(cd "$HERE/../images" && pwd)
IMAGE=localhost/wasm-hello:v1

build() {
  local out=$1
  command -v wat2wasm >/dev/null || bash "$HERE/../tools/ensure-packages.sh" wabt
  mkdir -p "$out/rootfs"
  wat2wasm "$HERE/hello.wat" -o "$out/rootfs/hello.wasm"
  # wasip1/wasm is the platform Wasm images conventionally carry; the shim itself looks at the
  # entrypoint's \0asm magic, not at the platform.
  bash "$IMAGES/build-image.sh" --os wasip1 --arch wasm \
    "$IMAGE" "$out/rootfs" '["/hello.wasm"]' "$out/wasm-hello.tar" >&2
}

key=$(cat "$HERE/hello.wat" "$0" "$IMAGES/build-image.sh" | sha256sum | cut -c1-12)
dir=$(cached_build "wasm-hello-v1-$key" build)
echo "$dir/wasm-hello.tar"
