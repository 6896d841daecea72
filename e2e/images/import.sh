#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Imports OCI image archives (from build-image.sh) into the CRI namespace (k8s.io) of a
# containerd, by default the local cluster's. Pods use them with imagePullPolicy: Never.
# Usage: import.sh [--address SOCKET] ARCHIVE.tar...
source "$(dirname "$0")/../tools/lib.sh"
address=${WASM_NODE_CLUSTER_DIR:-/var/lib/wasm-node-e2e}/run/containerd/containerd.sock
if [ "${1:-}" = --address ]; then address=${2:?--address needs a socket}; shift 2; fi
[ $# -gt 0 ] || { echo "usage: import.sh [--address SOCKET] ARCHIVE.tar..." >&2; exit 2; }
[ -S "$address" ] || { echo "import.sh: no containerd socket at $address (is the cluster up?)" >&2; exit 1; }
for archive in "$@"; do
  timeout 120 ctr --address "$address" -n k8s.io images import "$archive" >/dev/null
  log "imported $archive into $address"
done
