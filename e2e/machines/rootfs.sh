#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or finds in the cache) the Debian root filesystem machines boot from, with mmdebstrap
# from deb.debian.org. Usage: rootfs.sh SUITE FLAVOUR -> prints the rootfs directory
#   SUITE    bookworm (containerd 1.6), trixie (1.7), sid (2.1)
#   FLAVOUR  distro    systemd + the distribution's containerd, runc and CNI plugins
#            upstream  the same without Debian's containerd: an upstream build goes in per machine
# The cache entry is keyed by suite, package set and the versions apt resolves for it right now
# (a few seconds: package lists are kept and refreshed), so a Debian update builds a new rootfs
# and the old one is removed once no machine uses it. Without the mirror, the newest entry is used.
source "$(dirname "$0")/lib.sh"
suite=${1:?usage: rootfs.sh SUITE FLAVOUR} flavour=${2:?usage: rootfs.sh SUITE FLAVOUR}
case "$suite" in bookworm | trixie | sid) ;; *) die "unknown suite $suite (bookworm, trixie, sid)" ;; esac
# What the reference machines proved necessary: systemd as init, D-Bus for systemctl, runc and
# Debian's CNI plugins for pods, iproute2/iptables for the CNI bridge, procps/util-linux/kmod
# for what containerd.service and the installer call.
packages=(systemd systemd-sysv dbus runc containernetworking-plugins iptables iproute2 procps
  util-linux kmod ca-certificates)
case "$flavour" in
  distro) packages+=(containerd) ;;
  upstream) ;;
  *) die "unknown flavour $flavour (distro, upstream)" ;;
esac
require_root
bash "$MACHINES_LIB_DIR/../tools/ensure-packages.sh" mmdebstrap systemd-container >&2

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
sources() {
  local mirror="deb [signed-by=$keyring] http://deb.debian.org"
  if [ "$suite" = sid ]; then echo "$mirror/debian sid main"; return; fi
  printf '%s\n' "$mirror/debian $suite main" "$mirror/debian $suite-updates main" \
    "$mirror/debian-security $suite-security main"
}
# Debian unstable's Release file is past its Valid-Until on this mirror.
apt_opts=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false)
# mmdebstrap's minbase variant: Essential and Priority: required packages, apt, then ours.
selection=('?or(?essential,?priority(required))' apt "${packages[@]}")

# "name version" of every package the rootfs would get, from package lists kept in the cache.
resolve_versions() {
  local d="$CACHE_ROOT/apt-lists-$suite" lock
  mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/parts"
  exec {lock}>"$d.lock"; flock "$lock"
  # Rewritten only when they change: apt rebuilds its cache when their mtime moves.
  sources | cmp -s - "$d/sources.list" || sources > "$d/sources.list"
  [ -f "$d/status" ] || : > "$d/status"
  local dirs=(-o "Dir::Etc::SourceList=$d/sources.list" -o "Dir::Etc::SourceParts=$d/parts"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$d/parts"
    -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status" -o "Dir::Cache=$d"
    -o "Dir::Cache::archives=$d/archives" -o "Dir::Cache::pkgcache=$d/pkgcache.bin"
    -o "Dir::Cache::srcpkgcache=$d/srcpkgcache.bin" -o APT::Sandbox::User=root
    -o Debug::NoLocking=true "${apt_opts[@]}")
  # Lists younger than an hour are trusted: every test file asks, and a refresh takes seconds.
  if [ -z "$(find "$d/updated" -mmin -60 2>/dev/null)" ]; then
    apt-get "${dirs[@]}" -qq update >&2 || return 1
    touch "$d/updated"
  fi
  # The answer stands until the lists are refreshed: every machine asks, and apt takes seconds.
  local answer="$d/resolved-$flavour.txt"
  if [ ! "$answer" -nt "$d/updated" ]; then
    apt-get "${dirs[@]}" -s install "${selection[@]}" | awk '$1 == "Inst" {print $2, substr($3, 2)}' \
      | sort > "$answer.tmp"
    mv "$answer.tmp" "$answer"
  fi
  cat "$answer"
}

build() {
  local out=$1 include
  include=$(IFS=,; echo "${packages[*]}")
  local aptopts=() o
  for o in "${apt_opts[@]}"; do [ "$o" = -o ] || aptopts+=("--aptopt=${o%%=*} \"${o#*=}\""); done
  mapfile -t srcs < <(sources)
  with_heartbeat "rootfs $suite/$flavour" mmdebstrap --quiet --variant=minbase --include="$include" \
    "${aptopts[@]}" "$suite" "$out/rootfs" "${srcs[@]}" >&2 || return 1
  chroot "$out/rootfs" dpkg-query -W -f '${Package} ${Version}\n' | sort > "$out/versions.txt"
  if ! diff -q "$out/versions.txt" "$out/expected.txt" >/dev/null; then
    log "warning: the mirror changed during the build; $out holds:"
    diff "$out/expected.txt" "$out/versions.txt" >&2 || true
  fi
}

# Entries of this suite and flavour that no mounted machine uses any more (overlay lowerdir).
prune_older() { # KEEP_DIR
  local entry
  for entry in "$CACHE_ROOT/machine-rootfs-$suite-$flavour-"*; do
    [ "$entry" = "$1" ] || [ ! -f "$entry/.complete" ] && continue
    grep -qF "lowerdir=$entry/rootfs" /proc/self/mountinfo && continue
    log "removing the superseded rootfs $entry"
    rm -rf --one-file-system "$entry"
  done
}

if versions=$(resolve_versions); then
  key=$( (printf '%s\n' "${packages[@]}"; echo "$versions") | sha256sum | cut -c1-12)
  expected=$versions
  build_with_expectation() { echo "$expected" > "$1/expected.txt"; build "$1"; }
  dir=$(cached_build "machine-rootfs-$suite-$flavour-$key" build_with_expectation) || exit 1
  prune_older "$dir"
else
  dir=$(find "$CACHE_ROOT" -maxdepth 1 -name "machine-rootfs-$suite-$flavour-*" \
    -exec test -f '{}/.complete' ';' -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -1 | cut -d' ' -f2-)
  [ -n "$dir" ] || die "cannot reach deb.debian.org to resolve the $suite packages, and no $suite rootfs is cached"
  log "warning: cannot reach deb.debian.org; using the cached $dir"
fi
echo "$dir/rootfs"
