#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Creates a machine: an overlay of the cached Debian rootfs (rootfs.sh) with its own name,
# machine-id and containerd, ready for boot.sh. Nothing runs yet.
# Usage: create.sh NAME --suite SUITE [--containerd distro|VERSION] [--pods]
#                  [--bind HOST_PATH:MACHINE_PATH[:ro]]... [--network BRIDGE ADDRESS/PREFIX GATEWAY]
#                  [--owner PID]
#   --containerd distro     the distribution's containerd.service and shipped config (default)
#   --containerd v2.4.2     an upstream build (e2e/tools/build-containerd.sh --release) installed
#                           as its install guide says: binaries in /usr/local/bin, upstream's
#                           containerd.service in /usr/local/lib/systemd/system, the config
#                           `containerd config default` prints, CNI plugins in /opt/cni/bin
#   --pods                  the machine will run pods: the one config deviation this VM needs
#                           (restrict_oom_score_adj, README.md) and writable cgroup controllers
#   --network               a network namespace with a veth on the host bridge (the cluster's);
#                           without it the machine has only a loopback interface
#   --owner                 the process the machine belongs to: sweep.sh destroys machines whose
#                           owner is gone
source "$(dirname "$0")/lib.sh"
name=${1:?usage: create.sh NAME --suite SUITE [options]}; shift
suite='' containerd=distro pods=false binds=() network=() owner=''
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite=${2:?}; shift 2 ;;
    --containerd) containerd=${2:?}; shift 2 ;;
    --pods) pods=true; shift ;;
    --bind) binds+=("${2:?}"); shift 2 ;;
    --network) network=("${2:?}" "${3:?}" "${4:?}"); shift 4 ;;
    --owner) owner=${2:?}; shift 2 ;;
    *) die "create.sh: unknown option $1" ;;
  esac
done
require_root
valid_name "$name" || die "invalid machine name '$name' (lowercase letters, digits, '-', up to 42)"
[ -n "$suite" ] || die "create.sh: --suite is required"
M=$(machine_dir "$name")
[ -e "$M" ] && die "machine $name exists already ($M); destroy.sh it first"
for h in $(cgroup_hierarchies); do
  [ -d "$h/$CGROUP_PARENT/$name" ] && die "cgroup $h/$CGROUP_PARENT/$name exists: another machine is called $name"
done

flavour=distro release=''
if [ "$containerd" != distro ]; then
  flavour=upstream
  release=$(bash "$MACHINES_LIB_DIR/../tools/build-containerd.sh" --release "$containerd") \
    || die "building containerd $containerd failed (log above)"
fi
rootfs=$(bash "$MACHINES_LIB_DIR/rootfs.sh" "$suite" "$flavour") || die "no $suite rootfs (log above)"

mkdir -p "$M"/{upper,work,root,containerd,run}
{
  printf 'SUITE=%q\nCONTAINERD=%q\nPODS=%q\nROOTFS=%q\nOWNER=%q\n' \
    "$suite" "$containerd" "$pods" "$rootfs" "$owner"
  printf 'BINDS=(%s)\nNETWORK=(%s)\n' "${binds[*]@Q}" "${network[*]@Q}"
} > "$M/machine.env"
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$M/upper,workdir=$M/work" "$M/root"
R=$M/root

echo "$name" > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$name" > "$R/etc/hosts"
tr -d '-' < /proc/sys/kernel/random/uuid > "$R/etc/machine-id"

if [ -n "$release" ]; then
  install -m 755 "$release/bin/"* "$R/usr/local/bin/"
  install -D -m 644 "$release/containerd.service" "$R/usr/local/lib/systemd/system/containerd.service"
  # systemctl enable containerd, as the guide says, without running systemctl outside the machine.
  mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
  ln -s /usr/local/lib/systemd/system/containerd.service "$R/etc/systemd/system/multi-user.target.wants/"
  mkdir -p "$R/etc/containerd" "$R/opt/cni"
  "$release/bin/containerd" config default > "$R/etc/containerd/config.toml"
  # The guide installs the CNI plugins release into /opt/cni/bin; these are Debian's build of it.
  ln -s /usr/lib/cni "$R/opt/cni/bin"
fi

enable_harness_unit() { # UNIT: files/UNIT, started early at every boot
  install -m 644 "$MACHINES_LIB_DIR/files/$1" "$R/etc/systemd/system/"
  mkdir -p "$R/etc/systemd/system/sysinit.target.wants"
  ln -sf "../$1" "$R/etc/systemd/system/sysinit.target.wants/$1"
}
if $pods; then
  bash "$MACHINES_LIB_DIR/oom-deviation.sh" "$R/etc/containerd/config.toml"
  enable_harness_unit cgroup-rw.service
fi
if [ ${#network[@]} -gt 0 ]; then
  enable_harness_unit proc-sys-net-rw.service
  bash "$MACHINES_LIB_DIR/network.sh" up "$name"
fi
log "machine $name created ($suite, containerd $containerd, in $M)"
