#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds crictl (CRI client, used to check runtime handlers) from the Go module proxy; prints
# the bin dir. Debian bookworm has no cri-tools package.
source "$(dirname "$0")/lib.sh"
V=${CRICTL_VERSION:-v1.34.0}
build() {
  local out=$1
  GOBIN="$out/bin" CGO_ENABLED=0 with_heartbeat "crictl $V" nice -n 10 go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${V#v}" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$V" > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log" >&2; return 1; }
}
dir=$(cached_build "crictl-$V" build)
echo "$dir/bin"
