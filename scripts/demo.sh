#!/usr/bin/env bash
# npm run demo: on a fresh machine, as root, from nothing to a Wasm pod on a real node. It
# installs what it needs (Debian packages, Node 24, npm dependencies, the cluster tools and the
# node's Debian rootfs; the same steps as scripts/test.sh, cached after the first run), then
# e2e/demo.ts brings the local cluster up with one node (a Debian 12 systemd machine with
# Debian's containerd.service), installs the operator with its Helm chart, opts the node in,
# runs the hello Wasm pod and tells what happened. The cluster keeps running; npm run
# cluster:down removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "the demo boots a systemd machine, a kubelet and privileged pods: run it as root" >&2
  exit 1
fi
start=$SECONDS
if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
phase() { printf '\n%s▶ %s%s\n' "$bold" "$*" "$plain" >&2; }

phase "Debian packages"
bash e2e/tools/ensure-packages.sh systemd-container mmdebstrap buildah wabt \
  protobuf-compiler libseccomp-dev pkg-config build-essential busybox-static iptables \
  iproute2 openssl jq util-linux curl procps
phase "Node 24"
eval "$(scripts/ensure-node.sh --export)"
echo "node $(node --version), npm $(npm --version)" >&2
phase "npm dependencies"
# npm ci empties node_modules first: skip it when the installed tree already satisfies
# package.json (a re-run, or a checkout where the tests already ran).
if [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
  echo "node_modules is up to date" >&2
else
  npm ci --no-audit --no-fund --loglevel=error
fi
phase "Cluster tools: Kubernetes, kubectl, crictl, helm, the wasmtime shim, the node's Debian rootfs (minutes when cold, cached after)"
bash scripts/build-tools.sh --cluster

DEMO_SETUP_SECONDS=$((SECONDS - start)) exec node e2e/demo.ts
