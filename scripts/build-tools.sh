#!/usr/bin/env bash
# Builds (or finds in the cache) every tool the test suite runs for real: containerd releases,
# Kubernetes, kubectl, crictl, the Wasm test shim and the machines' Debian rootfs. Cold on 2
# cores this takes a while; each step prints progress and its time, and a warm run is seconds.
#   --cluster  only what the local cluster and the demo need (no extra containerd releases)
set -euo pipefail
cd "$(dirname "$0")/.."
step() {
  local start=$SECONDS
  printf '[%s] tool: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  bash "$@" >/dev/null
  printf '[%s] tool: %s ready (%ss)\n' "$(date +%H:%M:%S)" "$1" "$((SECONDS - start))" >&2
}
if [ "${1:-}" != --cluster ]; then
  for v in v1.7.35 v2.2.9 v2.4.2; do step e2e/tools/build-containerd.sh --release "$v"; done
  step e2e/machines/rootfs.sh trixie distro
  step e2e/machines/rootfs.sh trixie upstream
  step e2e/machines/rootfs.sh sid distro
fi
# The demo's node (and the cluster's first).
step e2e/machines/rootfs.sh bookworm distro
step e2e/tools/build-kubernetes.sh
step e2e/tools/build-kubectl.sh
step e2e/tools/build-crictl.sh
step e2e/tools/build-helm.sh
step e2e/tools/build-wasm-shim.sh
