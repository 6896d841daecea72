# shellcheck shell=bash source-path=SCRIPTDIR
# A throwaway main module that can build commands of k8s.io/kubernetes. Sourced, not run.
#
# k8s.io/kubernetes requires its staging modules at v0.0.0 and resolves them with replace
# directives that only apply to its own main module, so a consumer must repeat one replace per
# staging module; the list is read from that version's own go.mod, never hard-coded.

k8s_module_init() { # KUBE_VERSION  (in the current, empty directory)
  local kv=$1 gomod m
  printf 'module local/k8sbuild\n\ngo 1.24.0\n' > go.mod
  gomod=$(go mod download -json "k8s.io/kubernetes@$kv" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { echo "cannot download k8s.io/kubernetes@$kv from the Go module proxy" >&2; return 1; }
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | while read -r m; do
    go mod edit -replace="$m=$m@v0.${kv#v1.}"
  done
  go mod edit -require="k8s.io/kubernetes@$kv"
}

k8s_ldflags() { # KUBE_VERSION -> -ldflags value that stamps the version the binaries report
  local kv=$1 minor p ldf="-s -w"
  minor=$(echo "$kv" | cut -d. -f2)
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "$ldf"
}
