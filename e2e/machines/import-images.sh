#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Imports OCI image archives into a running machine's containerd (CRI namespace k8s.io), with
# the machine's own ctr. --sandbox ARCHIVE also tags that image with the name the machine's
# containerd uses as its pod sandbox image (read from `containerd config dump`, e.g.
# registry.k8s.io/pause:3.6 on Debian 12), so the shipped config needs no sandbox_image line.
# Pods use the images with imagePullPolicy: Never. Usage: import-images.sh NAME [--sandbox PAUSE.tar] [ARCHIVE.tar]...
source "$(dirname "$0")/lib.sh"
name=${1:?usage: import-images.sh NAME [--sandbox PAUSE.tar] [ARCHIVE.tar]...}; shift
sandbox=''
if [ "${1:-}" = --sandbox ]; then sandbox=${2:?--sandbox needs an archive}; shift 2; fi
require_root
load_machine "$name"

import() { # ARCHIVE -> prints the image names it held
  in_machine "$name" timeout 120 ctr -n k8s.io images import - < "$1" \
    | sed -nE 's/^unpacking ([^ ]+) .*/\1/p'
}
for archive in "$@"; do
  import "$archive" >/dev/null || die "importing $archive into machine $name failed"
done
if [ -n "$sandbox" ]; then
  image=$(import "$sandbox" | head -1) || die "importing $sandbox into machine $name failed"
  # 1.x: sandbox_image = "..." in the CRI table; 2.x: sandbox = '...' in cri.v1.images.pinned_images.
  expected=$(in_machine "$name" containerd config dump \
    | sed -nE "s/^[[:space:]]*(sandbox_image|sandbox)[[:space:]]*=[[:space:]]*['\"]([^'\"]+)['\"].*/\2/p" | head -1)
  [ -n "$expected" ] || die "machine $name: no sandbox image in its containerd config dump"
  in_machine "$name" ctr -n k8s.io images tag --force "$image" "$expected" >/dev/null
fi
log "machine $name: imported $* ${sandbox:+$sandbox (as ${expected:-?})}"
