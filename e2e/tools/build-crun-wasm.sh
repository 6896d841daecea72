#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the crun-wasm bundle the installer ships (installer-image/bundle-crun-wasm.sh) from
# Debian trixie's packages: crun 1.21 is built there with its WasmEdge handler (no crun release
# binary has one). Trixie needs glibc 2.38+, so the packages are not installed here: their
# Depends closure is unpacked into a scratch root, and the bundle made from that. Everything
# is verified: InRelease with the Debian archive keyring, the Packages index against it, every
# .deb against the index. Prints the directory with crun-wasm/ and manifest-entry.json.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
VERSIONS=$HERE/../../installer-image/versions.json
SUITE=trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$(uname -m)" in
  x86_64) ARCH=amd64 ;;
  aarch64) ARCH=arm64 ;;
  *) log "no crun-wasm build for $(uname -m)"; exit 1 ;;
esac
bash "$HERE/ensure-packages.sh" patchelf gpgv debian-archive-keyring curl jq
# The versions the image's crun-wasm stage installs: one source for both.
CRUN=$(jq -r '.runtimes["crun-wasm"].version' "$VERSIONS")
CRUN_SHA=$(jq -r --arg a "$ARCH" '.runtimes["crun-wasm"].artifacts[$a].sha256' "$VERSIONS")
mapfile -t WITH < <(jq -r '.runtimes["crun-wasm"].bundle.debianPackages | to_entries[] | "\(.key)=\(.value)"' "$VERSIONS")

fetch() { # URL SHA256 FILE
  [ -f "$3" ] && echo "$2  $3" | sha256sum -c --status && return 0
  curl -fsSL --retry 3 -o "$3.part" "$1"
  echo "$2  $3.part" | sha256sum -c --status || { log "sha256 mismatch: $1"; rm -f "$3.part"; return 1; }
  mv "$3.part" "$3"
}

build() {
  local out=$1 debs=$CACHE_ROOT/debian-debs
  mkdir -p "$debs"
  curl -fsSL --retry 3 -o "$out/InRelease" "$MIRROR/dists/$SUITE/InRelease"
  gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$out/InRelease" 2>"$out/gpgv.log" \
    || { cat "$out/gpgv.log" >&2; log "InRelease of $SUITE: bad signature"; return 1; }
  local index=main/binary-$ARCH/Packages.xz sha
  sha=$(awk -v f="$index" '/^SHA256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == f {print $1}' "$out/InRelease")
  [ -n "$sha" ] || { log "InRelease lists no $index"; return 1; }
  fetch "$MIRROR/dists/$SUITE/$index" "$sha" "$out/Packages.xz"
  python3 "$HERE/deb-closure.py" "$out/Packages.xz" "crun=$CRUN" "${WITH[@]}" > "$out/debs.txt"
  awk '$1 == "crun" {print $4}' "$out/debs.txt" | grep -qx "$CRUN_SHA" \
    || { log "crun $CRUN in the $SUITE index does not match the sha256 pinned in versions.json"; return 1; }
  log "crun-wasm: $(wc -l < "$out/debs.txt") packages from $SUITE"
  local pkg version file size
  while read -r pkg version file sha size; do
    fetch "$MIRROR/$file" "$sha" "$debs/${file##*/}"
    dpkg-deb -x "$debs/${file##*/}" "$out/root"
  done < "$out/debs.txt"
  rm "$out/Packages.xz"
  bash "$HERE/../../installer-image/bundle-crun-wasm.sh" "$out/root" "$out" "$CRUN" >&2
  rm -rf "$out/root"
}

key=$(cat "$0" "$HERE/deb-closure.py" "$HERE/../../installer-image/bundle-crun-wasm.sh" \
  <(jq '.runtimes["crun-wasm"]' "$VERSIONS") | sha256sum | cut -c1-12)
name=crun-wasm-$CRUN-$ARCH-$key
dir=$(cached_build "$name" build)
echo "$dir"
