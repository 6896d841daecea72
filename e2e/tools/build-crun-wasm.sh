#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds crun with its WasmEdge handler from Debian trixie's packages (crun 1.21 is built
# there with libwasmedge; no crun release binary has a Wasm handler) and prints the path of
# the crun binary. Trixie needs glibc 2.38+, so the packages are not installed: their
# Depends closure is unpacked into the cache entry, crun's interpreter and DT_RPATH are
# pointed into it (DT_RPATH, unlike RUNPATH, also governs the libwasmedge that crun dlopens
# and that library's own dependencies), and libraries that carry their own RUNPATH (libLLVM:
# $ORIGIN/../lib) are pointed at $ORIGIN, or their dependencies would silently come from the
# host. Everything is verified: InRelease with the Debian archive keyring, the Packages index
# against it, every .deb against the index.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
CRUN=${CRUN_DEB_VERSION:-1.21-1}
WASMEDGE=${WASMEDGE_DEB_VERSION:-0.14.1+dfsg-3.1}
SUITE=trixie
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$(uname -m)" in
  x86_64) ARCH=amd64 TRIPLET=x86_64-linux-gnu LDSO=ld-linux-x86-64.so.2 ;;
  aarch64) ARCH=arm64 TRIPLET=aarch64-linux-gnu LDSO=ld-linux-aarch64.so.1 ;;
  *) log "no crun-wasm build for $(uname -m)"; exit 1 ;;
esac
bash "$HERE/ensure-packages.sh" patchelf gpgv debian-archive-keyring curl

fetch() { # URL SHA256 FILE
  [ -f "$3" ] && echo "$2  $3" | sha256sum -c --status && return 0
  curl -fsSL --retry 3 -o "$3.part" "$1"
  echo "$2  $3.part" | sha256sum -c --status || { log "sha256 mismatch: $1"; rm -f "$3.part"; return 1; }
  mv "$3.part" "$3"
}

build() {
  local out=$1 final=$CACHE_ROOT/$name debs=$CACHE_ROOT/debian-debs
  mkdir -p "$debs"
  curl -fsSL --retry 3 -o "$out/InRelease" "$MIRROR/dists/$SUITE/InRelease"
  gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$out/InRelease" 2>"$out/gpgv.log" \
    || { cat "$out/gpgv.log" >&2; log "InRelease of $SUITE: bad signature"; return 1; }
  local index=main/binary-$ARCH/Packages.xz sha
  sha=$(awk -v f="$index" '/^SHA256:/ {s=1; next} /^[^ ]/ {s=0} s && $3 == f {print $1}' "$out/InRelease")
  [ -n "$sha" ] || { log "InRelease lists no $index"; return 1; }
  fetch "$MIRROR/dists/$SUITE/$index" "$sha" "$out/Packages.xz"
  python3 "$HERE/deb-closure.py" "$out/Packages.xz" "crun=$CRUN" "libwasmedge0=$WASMEDGE" \
    > "$out/debs.txt"
  log "crun-wasm: $(wc -l < "$out/debs.txt") packages from $SUITE"
  local pkg version file size
  while read -r pkg version file sha size; do
    fetch "$MIRROR/$file" "$sha" "$debs/${file##*/}"
    dpkg-deb -x "$debs/${file##*/}" "$out/root"
  done < "$out/debs.txt"
  rm "$out/Packages.xz"

  # Paths point at the final entry: cached_build renames this directory into place.
  local lib=usr/lib/$TRIPLET so needed
  patchelf --set-interpreter "$final/root/$lib/$LDSO" --force-rpath --set-rpath "$final/root/$lib" \
    "$out/root/usr/bin/crun"
  for so in "$out/root/$lib"/*.so*; do
    [ -f "$so" ] && [ ! -L "$so" ] || continue
    case "$(patchelf --print-rpath "$so" 2>/dev/null || echo '$ORIGIN')" in '' | '$ORIGIN') continue ;; esac
    patchelf --set-rpath '$ORIGIN' "$so"
  done
  for so in "$out/root/usr/bin/crun" "$out/root/$lib"/*.so*; do
    [ -f "$so" ] && [ ! -L "$so" ] || continue
    for needed in $(patchelf --print-needed "$so" 2>/dev/null); do
      [ -e "$out/root/$lib/$needed" ] || { log "$needed (needed by ${so##*/}) is not in the closure"; return 1; }
    done
  done
}

key=$(cat "$0" "$HERE/deb-closure.py" | sha256sum | cut -c1-12)
name=crun-wasm-$CRUN-wasmedge-$WASMEDGE-$ARCH-$key
dir=$(cached_build "$name" build)
crun=$dir/root/usr/bin/crun
"$crun" --version | grep -q '+WASM:wasmedge' || { log "$crun has no WasmEdge handler"; exit 1; }
echo "$crun"
