#!/usr/bin/env bash
# Builds a pinned containerd release (daemon + ctr) from the Go module proxy.
# Usage: build-containerd.sh VERSION   (e.g. v1.7.35, v2.2.9) -> prints the bin dir
source "$(dirname "$0")/lib.sh"
V=${1:?usage: build-containerd.sh VERSION}
case "$V" in
  v1.*) MOD=github.com/containerd/containerd ;;
  v2.*) MOD=github.com/containerd/containerd/v2 ;;
  *) echo "unsupported containerd version $V" >&2; exit 2 ;;
esac
build() {
  local out=$1 work
  work=$(mktemp -d)
  # A throwaway main module that requires containerd: `go install pkg@ver` refuses modules
  # whose go.mod has replace directives, a `require` does not.
  (cd "$work" && go mod init local/ctrbuild >/dev/null 2>&1 \
    && go get "$MOD/cmd/containerd@$V" "$MOD/cmd/ctr@$V" \
    && CGO_ENABLED=0 with_heartbeat "containerd $V" go build -mod=mod -trimpath \
       -tags "no_btrfs no_devmapper no_zfs no_aufs" \
       -ldflags "-s -w -X $MOD/version.Version=$V" -o "$out/bin/" "$MOD/cmd/containerd" "$MOD/cmd/ctr")
  rm -rf "$work"
}
dir=$(cached_build "containerd-$V" build)
echo "$dir/bin"
