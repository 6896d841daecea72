#!/usr/bin/env bash
# Builds the bench's Go HTTP/2 write client (bench/go-writer, standard library only) with the
# Go toolchain, cached by the hash of its source; prints the binary's path.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/../../e2e/tools/lib.sh"
SRC=$(cd "$(dirname "$0")" && pwd)
HASH=$(cat "$SRC/go.mod" "$SRC/main.go" | sha256sum | cut -c1-12)
build() {
  local out=$1
  (cd "$SRC" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 go build -trimpath \
    -o "$out/bin/go-writer" .) > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log" >&2; return 1; }
}
dir=$(cached_build "bench-go-writer-$HASH" build)
echo "$dir/bin/go-writer"
