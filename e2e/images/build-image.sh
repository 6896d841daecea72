#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds an OCI image archive from a root filesystem directory, offline (buildah FROM scratch,
# vfs storage in a throwaway dir, so parallel builds never share state and nothing piles up).
# Usage: build-image.sh [--env K=V]... [--cmd JSON] [--os OS] [--arch ARCH] [--workdir DIR]
#                       NAME:TAG ROOTFS_DIR ENTRYPOINT_JSON OUT.tar
#   e.g. build-image.sh localhost/busybox:local ./rootfs '["/bin/sh"]' busybox.tar
#        build-image.sh --os wasip1 --arch wasm localhost/wasm-hello:v1 ./wasm '["/hello.wasm"]' hello.tar
# The archive holds one image named NAME:TAG; import it with import.sh.
source "$(dirname "$0")/../tools/lib.sh"
config=()
while [ $# -gt 0 ]; do
  case "$1" in
    --env | --cmd | --os | --arch | --workdir) config+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --*) echo "build-image.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 4 ] || { sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2; }
name=$1 rootfs=$2 entrypoint=$3 out=$4
[ -d "$rootfs" ] || { echo "build-image.sh: no rootfs directory $rootfs" >&2; exit 2; }
command -v buildah >/dev/null || bash "$(dirname "$0")/../tools/ensure-packages.sh" buildah

store=$(mktemp -d "${TMPDIR:-/tmp}/build-image.XXXXXX")
B=(--root "$store/root" --runroot "$store/run" --storage-driver vfs)
trap 'buildah "${B[@]}" rm --all >/dev/null 2>&1; rm -rf "$store"' EXIT
ctr=$(buildah "${B[@]}" from scratch)
mnt=$(buildah "${B[@]}" mount "$ctr")
cp -a "$rootfs/." "$mnt/"
buildah "${B[@]}" umount "$ctr" >/dev/null
buildah "${B[@]}" config --entrypoint "$entrypoint" --cmd '' "${config[@]}" "$ctr"
buildah "${B[@]}" commit --quiet --format oci "$ctr" "$name" >/dev/null
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
buildah "${B[@]}" push --quiet "$name" "oci-archive:$out.tmp:$name"
mv "$out.tmp" "$out"
log "built image $name -> $out ($(du -h "$out" | cut -f1))"
