#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds kubectl at the cluster's Kubernetes version from the Go module proxy; prints the bin dir.
# A separate cache entry from build-kubernetes.sh so the server build (and its cache key) stays
# as it is; it shares the Go build cache, so after that build it takes about a minute.
# (Debian only has kubernetes-client 1.20, far outside kubectl's +/-1 minor skew.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/k8s-module.sh"
KV=${KUBE_VERSION:-v1.34.4}
build() {
  local out=$1 work logf
  work=$(mktemp -d); logf="$out/build.log"
  # set -e does not apply inside this `( ... ) || ...` subshell: each step fails explicitly.
  (
    cd "$work" || exit 1
    k8s_module_init "$KV" || exit 1
    go get "k8s.io/kubernetes/cmd/kubectl@$KV" || exit 1
    log "compiling kubectl $KV (log: $logf)"
    CGO_ENABLED=0 with_heartbeat "kubectl $KV" nice -n 10 go build -mod=mod -trimpath \
      -ldflags "$(k8s_ldflags "$KV")" -o "$out/bin/" k8s.io/kubernetes/cmd/kubectl
  ) > "$logf" 2>&1 || { tail -30 "$logf" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}
dir=$(cached_build "kubectl-$KV" build)
echo "$dir/bin"
