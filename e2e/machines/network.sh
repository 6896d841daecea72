#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A machine's network: its own network namespace (kept in $M/netns across reboots, as a VM's
# NIC outlives its OS) with eth0 at the machine's address, the other end of the veth on the
# host bridge, and a default route to the bridge's address. Inside, the CNI bridge, pod netns
# and ip_forward are the machine's own; nothing of it touches the VM's network settings.
# Usage: network.sh up|down NAME   (the address comes from create.sh --network)
source "$(dirname "$0")/lib.sh"
action=${1:?usage: network.sh up|down NAME} name=${2:?usage: network.sh up|down NAME}
require_root
load_machine "$name"
# IFNAMSIZ is 16: a hash of the name keeps host interface names unique and short.
host_if=wnm-$(printf '%s' "$name" | sha256sum | cut -c1-10)

case "$action" in
  up)
    bridge=${NETWORK[0]:?machine $name has no network} address=${NETWORK[1]} gateway=${NETWORK[2]}
    [ -d "/sys/class/net/$bridge/bridge" ] || die "no bridge $bridge on the host for machine $name"
    touch "$M/netns"
    mountpoint -q "$M/netns" || unshare --net="$M/netns" true
    ip link add "$host_if" type veth peer name eth0 netns "$M/netns"
    ip link set "$host_if" master "$bridge" up
    nsenter --net="$M/netns" sh -ec "
      ip link set lo up
      ip addr add $address dev eth0
      ip link set eth0 up
      ip route add default via $gateway"
    ;;
  down)
    if ip link show "$host_if" >/dev/null 2>&1; then ip link del "$host_if"; fi
    if mountpoint -q "$M/netns"; then umount "$M/netns"; fi
    rm -f "$M/netns"
    ;;
  *) die "network.sh: unknown action $action (up, down)" ;;
esac
