#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds actionlint (checks GitHub Actions workflows: .github/workflows/) from the Go module
# proxy; prints the binary's path (scripts/lint-workflows.sh runs it).
source "$(dirname "$0")/lib.sh"
V=${ACTIONLINT_VERSION:-v1.7.12}
build() {
  local out=$1
  GOBIN="$out/bin" CGO_ENABLED=0 with_heartbeat "actionlint $V" nice -n 10 go install -trimpath \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=${V#v}" \
    "github.com/rhysd/actionlint/cmd/actionlint@$V" > "$out/build.log" 2>&1 \
    || { tail -30 "$out/build.log" >&2; return 1; }
}
dir=$(cached_build "actionlint-$V" build)
echo "$dir/bin/actionlint"
