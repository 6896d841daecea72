#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the local cluster (npm run cluster:up): etcd, kube-apiserver, kube-controller-manager
# and kube-scheduler on the host, and worker nodes that are systemd machines (e2e/machines) with
# their distribution's containerd.service and a kubelet.service, on a host bridge. All state is
# in $WASM_NODE_CLUSTER_DIR (default /var/lib/wasm-node-e2e).
# Usage: up.sh [--nodes SUITE[:CONTAINERD],...]   (default: WASM_NODE_CLUSTER_NODES, else
#        bookworm,trixie,trixie:v2.4.2). A healthy cluster whose nodes begin with the requested
#        ones is left alone; any other is torn down first.
# Progress goes to stderr; the only stdout line is the admin kubeconfig path.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
MACHINES_SCRIPTS=$E2E_DIR/machines
nodes=${WASM_NODE_CLUSTER_NODES:-$DEFAULT_NODES}
if [ "${1:-}" = --nodes ]; then nodes=${2:?--nodes needs SUITE[:CONTAINERD],...}; fi
IFS=, read -r -a specs <<< "$nodes"

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s "$@"; }
etcd_up() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"; }
apiserver_ready() {
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "$SERVER/readyz"
}
nodes_ready() { # NAME... -> all Ready
  local name
  for name in "$@"; do
    [ "$(k get node "$name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] || return 1
  done
}
machine_runs() { bash "$MACHINES_SCRIPTS/status.sh" "$1" >/dev/null 2>&1; }

healthy() {
  local c want have
  [ -f "$W/cluster.json" ] || return 1
  for c in "${CONTROL_PLANE[@]}"; do alive "$c" || return 1; done
  KUBECTL=$(jq -r .kubectl "$W/cluster.json")
  want=$(printf '%s\n' "${specs[@]}")
  have=$(jq -r '.nodes[].spec' "$W/cluster.json" | head -n "${#specs[@]}")
  [ "$want" = "$have" ] || { log "the cluster's nodes ($(jq -r '[.nodes[].spec] | join(",")' "$W/cluster.json")) are not $nodes"; return 1; }
  apiserver_ready >/dev/null 2>&1 || return 1
  mapfile -t names < <(jq -r '.nodes[].name' "$W/cluster.json")
  for c in "${names[@]}"; do machine_runs "$c" || return 1; done
  # Every machine runs: a node briefly NotReady (e.g. right after a containerd restart by a
  # test) is given time rather than torn down.
  nodes_ready "${names[@]}" >/dev/null 2>&1 || wait_for 60 "nodes ${names[*]} to be Ready again" \
    kube-apiserver nodes_ready "${names[@]}"
}

preflight() {
  local port holder
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT"; do
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null)
    [ -z "$holder" ] || die "port $port is taken, the cluster needs it: $holder"
  done
  local addresses
  addresses=$(ip -4 -o addr show)
  if [[ $addresses == *" $NETWORK_PREFIX."* ]] && [ ! -d "/sys/class/net/$BRIDGE" ]; then
    die "$NETWORK_PREFIX.0/24 is in use on this machine: the cluster network needs it"
  fi
}

# What up must leave as it found it: recorded once per cluster lifetime (a re-run after a
# crash keeps the originals), compared by the teardown test after down. The kubelets run in
# machines whose /proc/sys is read-only, so nothing here should ever change.
record_host_state() {
  [ -f "$W/host-state" ] && return 0
  { sysctl -a 2>/dev/null | sed 's/^/sysctl /'; sed 's/^/hosts /' /etc/hosts; } > "$W/host-state.tmp"
  mv "$W/host-state.tmp" "$W/host-state"
}

start_control_plane() {
  start_daemon etcd "$K8S_BIN/etcd" --name default --data-dir "$VAR/lib/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  wait_for 30 "etcd health" etcd etcd_up || die "etcd did not become healthy"
  step "etcd healthy"
  # On the bridge address: the machines reach it there, and hostNetwork pods (the operator) too.
  start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address="$GATEWAY" --secure-port="$APISERVER_PORT" \
    --service-cluster-ip-range="$SERVICE_RANGE" --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP --profiling=false
  wait_for 90 "kube-apiserver /readyz" kube-apiserver apiserver_ready || die "kube-apiserver did not become ready"
  step "kube-apiserver ready on $SERVER"
  # Serving ports off (--secure-port=0): nothing here scrapes them, and fewer fixed ports means
  # fewer collisions with other instances on the machine.
  start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$PKI/controller-manager.kubeconfig" --secure-port=0 \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --use-service-account-credentials=true --leader-elect=false
  start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$PKI/scheduler.kubeconfig" \
    --secure-port=0 --leader-elect=false
}

create_node() { # INDEX SPEC
  local i=$1 spec=$2 suite=${2%%:*} containerd=distro name
  [[ $spec == *:* ]] && containerd=${spec#*:}
  [ "$suite" != sid ] || die "Debian unstable cannot run a kubelet on this VM (no cgroup v2 controllers): $spec"
  name=$(node_name "$i" "$spec")
  bash "$MACHINES_SCRIPTS/create.sh" "$name" --suite "$suite" --containerd "$containerd" --pods \
    --network "$BRIDGE" "$(node_address "$i")/24" "$GATEWAY" >&2
  bash "$MACHINES_SCRIPTS/join.sh" "$name" --pki "$PKI" --server "$SERVER" \
    --pod-subnet "$(node_subnet "$i")" --kubelet "$K8S_BIN/kubelet" >&2
}

write_cluster_json() {
  local i nodes_json='[]' name
  for i in "${!specs[@]}"; do
    name=$(node_name "$((i + 1))" "${specs[$i]}")
    nodes_json=$(jq --arg name "$name" --arg spec "${specs[$i]}" --arg address "$(node_address "$((i + 1))")" \
      --arg subnet "$(node_subnet "$((i + 1))")" --arg runtime "$(k get node "$name" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}')" \
      '. + [{name: $name, spec: $spec, suite: ($spec | split(":")[0]),
             containerd: (($spec | split(":")[1]) // "distro"), address: $address, podSubnet: $subnet,
             containerRuntimeVersion: $runtime}]' <<< "$nodes_json")
  done
  jq -n --arg w "$W" --arg kc "$KUBECONFIG_ADMIN" --arg server "$SERVER" --arg kubectl "$KUBECTL" \
    --arg crictl "$CRICTL" --arg k8sbin "$K8S_BIN" --arg machines "$WASM_NODE_MACHINES_DIR" \
    --arg bridge "$BRIDGE" --argjson nodes "$nodes_json" \
    '{workDir: $w, kubeconfig: $kc, server: $server, kubectl: $kubectl, crictl: $crictl,
      kubernetesBinDir: $k8sbin, machinesDir: $machines, bridge: $bridge, nodes: $nodes}' > "$W/cluster.json"
}

require_root
bash "$E2E_DIR/tools/ensure-packages.sh" systemd-container mmdebstrap buildah busybox-static \
  openssl iproute2 jq curl util-linux procps
if healthy; then
  log "cluster in $W is already up and healthy"
  echo "$KUBECONFIG_ADMIN"
  exit 0
fi
if [ -d "$RUN" ] || [ -d "$WASM_NODE_MACHINES_DIR" ] || [ -f "$W/host-state" ]; then
  log "cleaning up what a previous run left in $W"
  bash "$HERE/down.sh" >&2
fi
preflight

K8S_BIN=$(bash "$E2E_DIR/tools/build-kubernetes.sh") || die "building Kubernetes failed (log above)"
KUBECTL=$(bash "$E2E_DIR/tools/build-kubectl.sh")/kubectl || die "building kubectl failed (log above)"
CRICTL=$(bash "$E2E_DIR/tools/build-crictl.sh")/crictl || die "building crictl failed (log above)"
step "tools ready ($K8S_BIN)"

CLOCK_START=$(date +%s%N)
mkdir -p "$W" "$RUN" "$VAR/lib" "$LOGD" "$BIN"
rm -rf "$LOGD/previous" && mkdir -p "$LOGD/previous"
mv "$LOGD"/*.log "$LOGD/previous/" 2>/dev/null || true
record_host_state
bash "$HERE/pki.sh" "$PKI" "$SERVER" control-plane
install -m 600 "$PKI/admin.kubeconfig" "$KUBECONFIG_ADMIN"
printf '#!/bin/sh\nexec %s --kubeconfig %s "$@"\n' "$KUBECTL" "$KUBECONFIG_ADMIN" > "$BIN/kubectl"
chmod 755 "$BIN/kubectl"
ip link add "$BRIDGE" type bridge
ip addr add "$GATEWAY/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
step "certificates and bridge $BRIDGE ($GATEWAY/24)"

start_control_plane
names=()
for i in "${!specs[@]}"; do
  create_node "$((i + 1))" "${specs[$i]}"
  names+=("$(node_name "$((i + 1))" "${specs[$i]}")")
done
step "machines created: ${names[*]}"
pids=()
for name in "${names[@]}"; do bash "$MACHINES_SCRIPTS/boot.sh" "$name" >/dev/null & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid" || die "a machine did not boot (log above)"; done
step "machines booted"
bash "$E2E_DIR/images/base-images.sh" "$W/images"
pids=()
for name in "${names[@]}"; do
  bash "$MACHINES_SCRIPTS/import-images.sh" "$name" --sandbox "$W/images/pause.tar" "$W/images/busybox.tar" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "importing the base images failed (log above)"; done
step "images localhost/pause:local (as each node's sandbox image), localhost/busybox:local imported"

wait_for 120 "nodes ${names[*]} to be Ready" kube-apiserver nodes_ready "${names[@]}" \
  || { for name in "${names[@]}"; do bash "$MACHINES_SCRIPTS/exec.sh" "$name" journalctl -u kubelet -n 30 --no-pager >&2 || true; done
       die "the nodes did not become Ready"; }
step "nodes Ready: ${names[*]}"
wait_for 60 "the default service account" kube-controller-manager k get serviceaccount default \
  || die "kube-controller-manager did not create the default service account"
for c in "${CONTROL_PLANE[@]}"; do alive "$c" || { log_tail "$c"; die "$c exited"; }; done
write_cluster_json
step "cluster up; kubeconfig $KUBECONFIG_ADMIN (details in $W/cluster.json)"
echo "$KUBECONFIG_ADMIN"
