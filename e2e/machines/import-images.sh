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

# ctr 2.x imports through containerd's transfer service, which unpacks only for the machine's
# own platform: a wasip1/wasm image would have no snapshot for CRI to start. --local (1.7 and
# later) imports as 1.6's ctr always did, unpacking whatever the archive holds.
local_import=()
help=$(in_machine "$name" ctr images import --help 2>/dev/null) || true
if [[ $help == *--local* ]]; then local_import=(--local); fi
# containerd 2.2+ warns on every call that cgroup v1 is deprecated (this VM's layout).
quiet() { "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2); }
import() { # ARCHIVE
  quiet in_machine "$name" timeout 120 ctr -n k8s.io images import "${local_import[@]}" - < "$1" >/dev/null \
    || die "importing $1 into machine $name failed"
}
# The name and manifest digest the archive's OCI index gives its image.
ref_of() { tar -xOf "$1" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"] // empty'; }
digest_of() { tar -xOf "$1" index.json | jq -r '.manifests[0].digest'; }
# Every test file imports its images into every node: one the node holds already, under the
# same name at the same digest, is skipped.
present() { # ARCHIVE
  local ref listed
  ref=$(ref_of "$1")
  [ -n "$ref" ] || return 1
  listed=$(in_machine "$name" ctr -n k8s.io images ls "name==$ref" 2>/dev/null) || return 1
  [[ $listed == *" $(digest_of "$1") "* ]]
}
imported=() skipped=()
for archive in "$@"; do
  if present "$archive"; then skipped+=("$archive"); else import "$archive" && imported+=("$archive"); fi
done
if [ -n "$sandbox" ]; then
  import "$sandbox"
  image=$(ref_of "$sandbox")
  # 1.x: sandbox_image = "..." in the CRI table; 2.x: sandbox = '...' in cri.v1.images.pinned_images.
  expected=$(quiet in_machine "$name" containerd config dump \
    | sed -nE "s/^[[:space:]]*(sandbox_image|sandbox)[[:space:]]*=[[:space:]]*['\"]([^'\"]+)['\"].*/\2/p" | head -1)
  [ -n "$expected" ] || die "machine $name: no sandbox image in its containerd config dump"
  quiet in_machine "$name" ctr -n k8s.io images tag --force "$image" "$expected" >/dev/null
fi
log "machine $name: imported ${imported[*]:-nothing} ${sandbox:+$sandbox (as ${expected:-?})}${skipped[*]:+; already there: ${skipped[*]}}"
