#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The cluster's own images, from Debian's busybox-static: localhost/pause:local (the CRI
# sandbox image: sleeps until SIGTERM) and localhost/busybox:local. Archives are reused while
# they exist. Usage: base-images.sh OUT_DIR  -> OUT_DIR/pause.tar, OUT_DIR/busybox.tar
source "$(dirname "$0")/../tools/lib.sh"
out=${1:?usage: base-images.sh OUT_DIR}
[ -f "$out/pause.tar" ] && [ -f "$out/busybox.tar" ] && exit 0
bash "$(dirname "$0")/../tools/ensure-packages.sh" busybox-static buildah
rootfs=$(mktemp -d); trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
build=("$(dirname "$0")/build-image.sh" --env PATH=/bin)
bash "${build[@]}" localhost/pause:local "$rootfs" \
  '["/bin/sh","-c","trap \"exit 0\" TERM INT; sleep 2147483647 & wait"]' "$out/pause.tar"
bash "${build[@]}" localhost/busybox:local "$rootfs" '["/bin/sh"]' "$out/busybox.tar"
