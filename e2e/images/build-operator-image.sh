#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds localhost/wasm-node-operator:e2e offline: the host's Node 24 (+ its shared libraries)
# and the operator bundle, nothing else (no shell). Usage: build-operator-image.sh OUT.tar
source "$(dirname "$0")/node-rootfs.sh"
out=${1:?usage: build-operator-image.sh OUT.tar}
rootfs=$(mktemp -d); trap 'rm -rf "$rootfs"' EXIT
node_rootfs "$rootfs" wasm-node-operator
bash "$(dirname "$0")/build-image.sh" --env NODE_ENV=production \
  localhost/wasm-node-operator:e2e "$rootfs" \
  '["/usr/local/bin/node","/usr/local/lib/wasm-node/wasm-node-operator.mjs"]' "$out"
