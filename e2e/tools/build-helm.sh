#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds helm (chart lint/template/install in the tests) from the Go module proxy; prints the bin
# dir. Neither Debian bookworm nor npm ships a helm binary.
# The ldflags are those of helm's Makefile: without them `helm version` says only "v3.21" and
# helm template/lint assume Kubernetes 1.20, failing every chart that requires a newer one.
source "$(dirname "$0")/lib.sh"
V=${HELM_VERSION:-v3.21.4}
build() {
  local out=$1 gomod client_go major minor ldflags
  gomod=$(go mod download -json "helm.sh/helm/v3@$V" | jq -r .GoMod)
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$gomod") # e.g. v0.36.2 -> 1.36
  major=$(( $(cut -d. -f1 <<< "${client_go#v}") + 1 )) minor=$(cut -d. -f2 <<< "$client_go")
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$V"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=$major -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$out/bin" CGO_ENABLED=0 with_heartbeat "helm $V" nice -n 10 go install -trimpath \
    -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$V" > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log" >&2; return 1; }
  "$out/bin/helm" version --short >&2
}
dir=$(cached_build "helm-$V" build)
echo "$dir/bin"
