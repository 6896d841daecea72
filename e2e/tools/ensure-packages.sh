#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the Debian packages the local cluster needs; only missing ones, so a prepared
# machine makes no apt call at all. Usage: ensure-packages.sh PACKAGE...
source "$(dirname "$0")/lib.sh"
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { log "missing Debian packages ${missing[*]} and not root to install them"; exit 1; }
log "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Other engineers' runs install packages on the same machine: wait for their dpkg lock.
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2; then
  log "apt-get install failed; refreshing the package lists and retrying"
  "${apt[@]}" update >&2
  "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >&2
fi
