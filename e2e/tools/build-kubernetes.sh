#!/usr/bin/env bash
# Builds a pinned Kubernetes (apiserver, controller-manager, scheduler, kubelet) and etcd
# from the Go module proxy. Prints the bin dir.
#
# k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them with replace
# directives that only apply to its own main module, so a consumer must repeat one replace per
# staging module; the list is read from that version's own go.mod, never hard-coded.
source "$(dirname "$0")/lib.sh"
KV=${KUBE_VERSION:-v1.34.4}
build() {
  local out=$1 work logf
  work=$(mktemp -d); logf="$out/build.log"
  (
    cd "$work"
    printf 'module local/k8sbuild\n\ngo 1.24.0\n' > go.mod
    local gomod sv="v0.${KV#v1.}" minor
    minor=$(echo "$KV" | cut -d. -f2)
    gomod=$(go mod download -json "k8s.io/kubernetes@$KV" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
    for m in $(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod"); do
      go mod edit -replace="$m=$m@$sv"
    done
    go mod edit -require="k8s.io/kubernetes@$KV"
    mkdir -p cmd/etcd
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > cmd/etcd/main.go
    local P=k8s.io/kubernetes/cmd
    log "resolving modules for Kubernetes $KV"
    go get "$P/kube-apiserver@$KV" "$P/kube-controller-manager@$KV" "$P/kube-scheduler@$KV" "$P/kubelet@$KV"
    # etcd at exactly the version Kubernetes already selected: a bare `go get` would upgrade it.
    local ev; ev=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
    go get "go.etcd.io/etcd/server/v3/etcdmain@$ev"
    local ldf="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf+=" -X $p.gitVersion=$KV -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    CGO_ENABLED=0 with_heartbeat "kubernetes $KV" go build -mod=mod -trimpath -ldflags "$ldf" -o "$out/bin/" \
      "$P/kube-apiserver" "$P/kube-controller-manager" "$P/kube-scheduler" "$P/kubelet" ./cmd/etcd
  ) > "$logf" 2>&1 || { tail -30 "$logf" >&2; rm -rf "$work"; return 1; }
  rm -rf "$work"
}
dir=$(cached_build "kubernetes-$KV" build)
echo "$dir/bin"
