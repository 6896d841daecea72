#!/usr/bin/env bash
# Builds a pinned containerd release from the Go module proxy.
# Usage: build-containerd.sh VERSION            (e.g. v1.7.35, v2.2.9) -> prints the bin dir of
#                                                containerd + ctr
#        build-containerd.sh --release VERSION  -> prints a dir laid out as upstream ships it:
#                                                bin/{containerd,ctr,containerd-shim-runc-v2} (the
#                                                release tarball) and containerd.service (from the
#                                                repository, which the install guide points to)
# The release reuses the cached containerd + ctr build and adds the runc shim, which pods need.
source "$(dirname "$0")/lib.sh"
release=false
if [ "${1:-}" = --release ]; then release=true; shift; fi
V=${1:?usage: build-containerd.sh [--release] VERSION}
case "$V" in
  v1.*) MOD=github.com/containerd/containerd ;;
  v2.*) MOD=github.com/containerd/containerd/v2 ;;
  *) echo "unsupported containerd version $V" >&2; exit 2 ;;
esac

go_build() { # OUT COMMAND... ; builds $MOD/cmd/COMMAND at $V into OUT/bin, and keeps the unit file
  local out=$1 work cmd pkgs=(); shift
  for cmd in "$@"; do pkgs+=("$MOD/cmd/$cmd"); done
  work=$(mktemp -d)
  # A throwaway main module that requires containerd: `go install pkg@ver` refuses modules
  # whose go.mod has replace directives, a `require` does not.
  (cd "$work" && go mod init local/ctrbuild >/dev/null 2>&1 \
    && go get "${pkgs[@]/%/@$V}" \
    && CGO_ENABLED=0 with_heartbeat "containerd $V ($*)" go build -mod=mod -trimpath \
       -tags "no_btrfs no_devmapper no_zfs no_aufs" \
       -ldflags "-s -w -X $MOD/version.Version=$V" -o "$out/bin/" "${pkgs[@]}" \
    && cp "$(go list -mod=mod -m -f '{{.Dir}}' "$MOD")/containerd.service" "$out/")
  local rc=$?
  rm -rf "$work"
  return "$rc"
}
build_daemon() { go_build "$1" containerd ctr; }
build_shim() { go_build "$1" containerd-shim-runc-v2; }

daemon=$(cached_build "containerd-$V" build_daemon) || exit 1
if ! $release; then echo "$daemon/bin"; exit 0; fi
shim=$(cached_build "containerd-runc-shim-$V" build_shim) || exit 1
assemble() { # hard links: the parts stay cached on their own, the release costs no space
  mkdir -p "$1/bin"
  ln "$daemon/bin/containerd" "$daemon/bin/ctr" "$shim/bin/containerd-shim-runc-v2" "$1/bin/"
  ln "$shim/containerd.service" "$1/containerd.service"
}
cached_build "containerd-release-$V" assemble
