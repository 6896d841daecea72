#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the single-node test cluster (npm run cluster:up): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, a supervised containerd 1.6 (Debian), kubelet and a
# CNI bridge, all state in $WASM_NODE_CLUSTER_DIR (default /var/lib/wasm-node-e2e).
# A healthy cluster is left alone; leftovers of a crashed one are torn down first.
# Progress goes to stderr; the only stdout line is the admin kubeconfig path.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" --request-timeout=5s "$@"; }
ctr_up() { timeout 5 ctr --address "$SOCK" version; }
etcd_up() { curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"; }
apiserver_ready() {
  curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}
node_ready() {
  [ "$(k get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
healthy() {
  local c
  [ -f "$W/cluster.json" ] || return 1
  for c in containerd-supervisor containerd "${CONTROL_PLANE[@]}"; do alive "$c" || return 1; done
  KUBECTL=$(jq -r .kubectl "$W/cluster.json") NODE_NAME=$(jq -r .nodeName "$W/cluster.json")
  ctr_up >/dev/null 2>&1 && apiserver_ready >/dev/null 2>&1 || return 1
  # Every process runs: a node briefly NotReady (e.g. right after a containerd restart by a
  # test) is given time rather than torn down.
  node_ready >/dev/null 2>&1 || wait_for 60 "node $NODE_NAME to be Ready again" kubelet node_ready
}

preflight() {
  [ -d /sys/fs/cgroup/memory ] || grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null \
    || die "no memory cgroup controller under /sys/fs/cgroup: the kubelet cannot run here"
  local port holder
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KUBELET_PORT"; do
    holder=$(ss -Hltnp "sport = :$port" 2>/dev/null)
    [ -z "$holder" ] || die "port $port is taken, the cluster needs it: $holder"
  done
  [ -e /dev/kmsg ] || log "warning: no /dev/kmsg; the kubelet's OOM watcher will complain"
}

# The apiserver reaches the kubelet (logs, exec) by the node's Hostname address, so the node
# name must resolve to this machine; "localhost" always does.
pick_node_name() {
  local name=${WASM_NODE_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')} ip
  ip=$(getent ahostsv4 "$name" | awk 'NR == 1 {print $1}')
  if [ -n "$ip" ] && { [[ $ip == 127.* ]] || ip -4 -o addr show | grep -qF " $ip/"; }; then
    echo "$name"
  else
    log "warning: node name '$name' does not resolve to this machine; using 'localhost'"
    echo localhost
  fi
}

record_host_state() { # once per cluster lifetime, so a re-run after a crash keeps the originals
  [ -f "$W/host-state" ] && return 0
  local s p
  {
    for s in "${HOST_SYSCTLS[@]}"; do echo "sysctl $s $(sysctl -n "$s")"; done
    for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] || echo "created $p"; done
    for p in "${HOST_SHARED_DIRS[@]}"; do [ -e "$p" ] || echo "created-shared $p"; done
  } > "$W/host-state.tmp"
  mv "$W/host-state.tmp" "$W/host-state"
}

restore_kubelet_sysctls() { # kernel.panic_on_oops=1 would turn a kernel oops into a reboot
  local what name value
  while read -r what name value; do
    if [ "$what" = sysctl ] && [ "$name" != net.ipv4.ip_forward ]; then sysctl -q -w "$name=$value"; fi
  done < "$W/host-state"
}

install_helpers() {
  mkdir -p "$BIN"
  install -m 755 "$HERE/containerd-supervisor.sh" "$BIN/containerd-supervisor"
  install -m 755 "$HERE/restart-containerd.sh" "$BIN/restart-containerd"
  printf '#!/bin/sh\nexec %s --kubeconfig %s "$@"\n' "$KUBECTL" "$KUBECONFIG_ADMIN" > "$BIN/kubectl"
  printf '#!/bin/sh\nexec %s --runtime-endpoint unix://%s --image-endpoint unix://%s "$@"\n' \
    "$CRICTL" "$SOCK" "$SOCK" > "$BIN/crictl"
  printf '#!/bin/sh\nexec ctr --address %s --namespace k8s.io "$@"\n' "$SOCK" > "$BIN/ctr"
  chmod 755 "$BIN/kubectl" "$BIN/crictl" "$BIN/ctr"
}

write_cluster_json() {
  jq -n --arg w "$W" --arg kc "$KUBECONFIG_ADMIN" --arg server "https://127.0.0.1:$APISERVER_PORT" \
    --arg node "$NODE_NAME" --arg sock "$SOCK" --arg kubectl "$KUBECTL" --arg crictl "$CRICTL" \
    --arg k8sbin "$K8S_BIN" --arg bridge "$BRIDGE" --arg net "$CNI_NETWORK" \
    '{workDir: $w, kubeconfig: $kc, server: $server, nodeName: $node, bridge: $bridge, cniNetwork: $net,
      containerdSocket: $sock, containerdConfig: ($w + "/etc/containerd/config.toml"),
      containerdLog: ($w + "/log/containerd.log"), restartContainerd: ($w + "/bin/restart-containerd"),
      kubectl: $kubectl, crictl: $crictl, kubernetesBinDir: $k8sbin}' > "$W/cluster.json"
}

require_root
bash "$E2E_DIR/tools/ensure-packages.sh" containerd runc containernetworking-plugins buildah \
  busybox-static openssl iptables iproute2 jq curl util-linux procps
if healthy; then
  log "cluster in $W is already up and healthy"
  echo "$KUBECONFIG_ADMIN"
  exit 0
fi
if [ -d "$RUN" ] || [ -f "$W/host-state" ]; then
  log "cleaning up what a previous run left in $W"
  bash "$HERE/down.sh" >&2
fi
preflight

K8S_BIN=$(bash "$E2E_DIR/tools/build-kubernetes.sh") || die "building Kubernetes failed (log above)"
KUBECTL=$(bash "$E2E_DIR/tools/build-kubectl.sh")/kubectl || die "building kubectl failed (log above)"
CRICTL=$(bash "$E2E_DIR/tools/build-crictl.sh")/crictl || die "building crictl failed (log above)"
step "tools ready ($K8S_BIN)"

CLOCK_START=$(date +%s%N)
mkdir -p "$W" "$RUN/containerd" "$ETC" "$VAR/lib" "$LOGD"
rm -rf "$LOGD/previous" && mkdir -p "$LOGD/previous"
mv "$LOGD"/*.log "$LOGD/previous/" 2>/dev/null || true
NODE_NAME=$(pick_node_name)
record_host_state
bash "$HERE/pki.sh" "$PKI" "https://127.0.0.1:$APISERVER_PORT" "$NODE_NAME"
install -m 600 "$PKI/admin.kubeconfig" "$KUBECONFIG_ADMIN"
render "$HERE/config/containerd.toml" "$ETC/containerd/config.toml"
render "$HERE/config/cni.conflist" "$ETC/cni/net.d/10-$CNI_NETWORK.conflist"
render "$HERE/config/kubelet.yaml" "$ETC/kubelet/config.yaml"
install_helpers
step "certificates, kubeconfigs and configs in $W (node name $NODE_NAME)"

start_daemon containerd-supervisor "$BIN/containerd-supervisor"
wait_for 30 "containerd to serve $SOCK" containerd-supervisor ctr_up \
  || { log_tail containerd; die "containerd did not start"; }
step "containerd up (pid $(cat "$RUN/containerd.pid"), supervised)"
bash "$E2E_DIR/images/base-images.sh" "$W/images"
bash "$E2E_DIR/images/import.sh" --address "$SOCK" "$W/images/pause.tar" "$W/images/busybox.tar"
step "images localhost/pause:local, localhost/busybox:local imported"

start_daemon etcd "$K8S_BIN/etcd" --name default --data-dir "$VAR/lib/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
wait_for 30 "etcd health" etcd etcd_up || die "etcd did not become healthy"
step "etcd healthy"

start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --service-cluster-ip-range="$SERVICE_RANGE" --client-ca-file="$PKI/ca.crt" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=Hostname,InternalIP --profiling=false
wait_for 90 "kube-apiserver /readyz" kube-apiserver apiserver_ready || die "kube-apiserver did not become ready"
step "kube-apiserver ready on https://127.0.0.1:$APISERVER_PORT"

# Serving ports off (--secure-port=0): nothing here scrapes them, and fewer fixed ports means
# fewer collisions with other instances on the machine.
start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig="$PKI/controller-manager.kubeconfig" --secure-port=0 \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true --leader-elect=false
start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$PKI/scheduler.kubeconfig" \
  --secure-port=0 --leader-elect=false
start_daemon kubelet "$K8S_BIN/kubelet" --config="$ETC/kubelet/config.yaml" \
  --kubeconfig="$PKI/kubelet.kubeconfig" --hostname-override="$NODE_NAME" \
  --root-dir="$VAR/lib/kubelet" --v=2
step "kube-controller-manager, kube-scheduler and kubelet started"

wait_for 120 "node $NODE_NAME to be Ready" kubelet node_ready || die "the node did not become Ready"
restore_kubelet_sysctls
step "node $NODE_NAME Ready"
wait_for 60 "the default service account" kube-controller-manager k get serviceaccount default \
  || die "kube-controller-manager did not create the default service account"
for c in kube-scheduler kubelet; do alive "$c" || { log_tail "$c"; die "$c exited"; }; done
write_cluster_json
step "cluster up; kubeconfig $KUBECONFIG_ADMIN (details in $W/cluster.json)"
echo "$KUBECONFIG_ADMIN"
