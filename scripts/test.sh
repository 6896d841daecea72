#!/usr/bin/env bash
# The project's test command (README; .ci/run runs exactly this). On a fresh machine it
# installs what it needs: Debian packages, Node 24, npm dependencies, then every tool the
# suite runs for real, and runs lint, type checks and all jest projects.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
if [ "$(id -u)" != 0 ]; then
  echo "the tests start containerd, a kubelet and privileged pods: run them as root" >&2
  exit 1
fi
bash e2e/tools/ensure-packages.sh containerd runc containernetworking-plugins buildah wabt \
  protobuf-compiler libseccomp-dev pkg-config build-essential busybox-static iptables \
  iproute2 openssl jq util-linux systemd-container mmdebstrap
eval "$(scripts/ensure-node.sh --export)"
echo "node $(node --version), npm $(npm --version)" >&2
npm ci --no-audit --no-fund --loglevel=error
bash scripts/build-tools.sh
npm run -s typecheck
npm run -s lint
# Tiers that isolate themselves (temp dirs, free ports, machines of their own) run on two
# workers; the cluster tier shares its nodes, so its files run one at a time, and the last step
# takes the cluster down and checks that nothing is left on the host.
npm run -s test:jest -- --ci "$@" --maxWorkers=2 --selectProjects unit chart harness containerd apiserver machines
npm run -s test:jest -- --ci "$@" --runInBand --selectProjects cluster
WASM_NODE_E2E_TEARDOWN=1 npm run -s test:jest -- --ci --runInBand e2e/cluster/teardown.test.ts --selectProjects cluster
echo "all tests passed in $((SECONDS - start))s" >&2
