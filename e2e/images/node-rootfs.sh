# shellcheck shell=bash source-path=SCRIPTDIR
# Helpers for the offline Node images (build-operator-image.sh, build-installer-image.sh).
# Sourced, not run. The host's Node 24 and tools are glibc-dynamic, so each binary goes in with
# the shared libraries ldd names, at the same paths.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib.sh"
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

copy_with_libs() { # ROOTFS BINARY [DEST_PATH]
  local rootfs=$1 bin=$2 dest=${3:-$2} lib
  install -D -m 755 "$bin" "$rootfs$dest"
  for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
    [ -e "$rootfs$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$rootfs$lib"
  done
}

# A rootfs with Node at /usr/local/bin/node, the esbuild bundle NAME.mjs in
# /usr/local/lib/wasm-node, /tmp, and the nonroot user 65532 the chart runs as.
node_rootfs() { # ROOTFS BUNDLE_NAME
  local rootfs=$1 name=$2 node_bin
  node_bin=$(bash "$REPO_ROOT/scripts/ensure-node.sh")
  (cd "$REPO_ROOT" && PATH="$node_bin:$PATH" node scripts/bundle.ts >&2)
  copy_with_libs "$rootfs" "$node_bin/node" /usr/local/bin/node
  install -D -m 644 "$REPO_ROOT/dist/$name.mjs" "$rootfs/usr/local/lib/wasm-node/$name.mjs"
  chmod 755 "$rootfs" # mktemp makes it 0700, which would become the image's /
  mkdir -p "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
}
