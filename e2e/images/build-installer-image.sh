#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds localhost/wasm-node-installer:e2e offline: Node 24 + the installer bundle, nsenter
# (the installer restarts containerd through the host's namespaces), busybox as /bin/sh for
# restart commands, and in /opt/wasm-node/shims the test wasmtime shim (e2e/tools/
# build-wasm-shim.sh) with the checksum manifest the installer verifies it against
# (src/formats/shims-manifest.ts). Usage: build-installer-image.sh [--corrupt-shim] OUT.tar
# --corrupt-shim builds localhost/wasm-node-installer:corrupt instead, whose shim binary no
# longer matches the manifest's checksum (the e2e failure scenario: the install must refuse it).
source "$(dirname "$0")/node-rootfs.sh"
tag=e2e
if [ "${1:-}" = --corrupt-shim ]; then tag=corrupt; shift; fi
out=${1:?usage: build-installer-image.sh [--corrupt-shim] OUT.tar}
bash "$REPO_ROOT/e2e/tools/ensure-packages.sh" busybox-static util-linux jq
shim=$(bash "$REPO_ROOT/e2e/tools/build-wasm-shim.sh")
rootfs=$(mktemp -d); trap 'rm -rf "$rootfs"' EXIT
node_rootfs "$rootfs" wasm-node-installer
copy_with_libs "$rootfs" "$(command -v nsenter)" /usr/bin/nsenter
install -D -m 755 /bin/busybox "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"

shims=$rootfs/opt/wasm-node/shims
install -D -m 755 "$shim" "$shims/containerd-shim-wasmtime-v1"
sha=$(cut -d' ' -f1 "$shim.sha256")
version=$("$shim" -v | awk '$1 == "Version:" {print $2}')
jq -n --arg sha "$sha" --arg version "$version" '{schema: "wasm-node.dev/shims/v1", runtimes: [
  {name: "wasmtime", version: $version, binary: "containerd-shim-wasmtime-v1", sha256: $sha}]}' \
  > "$shims/manifest.json"
if [ "$tag" = corrupt ]; then printf 'tampered' >> "$shims/containerd-shim-wasmtime-v1"; fi

bash "$(dirname "$0")/build-image.sh" --env NODE_ENV=production --env PATH=/usr/local/bin:/usr/bin:/bin \
  "localhost/wasm-node-installer:$tag" "$rootfs" \
  '["/usr/local/bin/node","/usr/local/lib/wasm-node/wasm-node-installer.mjs"]' "$out"
