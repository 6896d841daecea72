#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds a pinned Kubernetes (apiserver, controller-manager, scheduler, kubelet) and etcd
# from the Go module proxy. Prints the bin dir.
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
    mkdir -p cmd/etcd
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > cmd/etcd/main.go
    local P=k8s.io/kubernetes/cmd
    log "resolving modules for Kubernetes $KV"
    go get "$P/kube-apiserver@$KV" "$P/kube-controller-manager@$KV" "$P/kube-scheduler@$KV" "$P/kubelet@$KV" || exit 1
    # etcd at exactly the version Kubernetes already selected: a bare `go get` would upgrade it.
    local ev; ev=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3) || exit 1
    go get "go.etcd.io/etcd/server/v3/etcdmain@$ev" || exit 1
    log "compiling Kubernetes $KV + etcd $ev (log: $logf)"
    CGO_ENABLED=0 with_heartbeat "kubernetes $KV" nice -n 10 go build -mod=mod -trimpath \
      -ldflags "$(k8s_ldflags "$KV")" -o "$out/bin/" \
      "$P/kube-apiserver" "$P/kube-controller-manager" "$P/kube-scheduler" "$P/kubelet" ./cmd/etcd
  ) > "$logf" 2>&1 || { tail -30 "$logf" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}
dir=$(cached_build "kubernetes-$KV" build)
echo "$dir/bin"
