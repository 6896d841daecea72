#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Makes a created (not yet booted) machine a node of a cluster, as kubeadm join would leave it:
# a client certificate system:node:NAME signed by the cluster CA, /etc/kubernetes/kubelet.conf,
# /var/lib/kubelet/config.yaml, kubelet.service enabled, a CNI bridge for its pod subnet. The
# machine needs --pods and --network (create.sh); its kubelet listens on its own address.
# Usage: join.sh NAME --pki DIR --server URL --pod-subnet CIDR --kubelet BINARY
source "$(dirname "$0")/lib.sh"
name=${1:?usage: join.sh NAME --pki DIR --server URL --pod-subnet CIDR --kubelet BINARY}; shift
pki='' server='' subnet='' kubelet=''
while [ $# -gt 0 ]; do
  case "$1" in
    --pki) pki=${2:?}; shift 2 ;;
    --server) server=${2:?}; shift 2 ;;
    --pod-subnet) subnet=${2:?}; shift 2 ;;
    --kubelet) kubelet=${2:?}; shift 2 ;;
    *) die "join.sh: unknown option $1" ;;
  esac
done
if [ -z "$pki" ] || [ -z "$server" ] || [ -z "$subnet" ] || [ ! -x "$kubelet" ]; then
  die "join.sh: --pki, --server, --pod-subnet and --kubelet are required"
fi
require_root
load_machine "$name"
if [ "$PODS" != true ] || [ ${#NETWORK[@]} -eq 0 ]; then
  die "machine $name needs --pods and --network to be a node"
fi
node_ip=${NETWORK[1]%/*}
R=$M/root K=$MACHINES_LIB_DIR/kubelet

# The node's client certificate, as the kubelet's TLS bootstrap would have it signed.
mkdir -p "$M/pki" "$R/etc/kubernetes/pki" "$R/var/lib/kubelet"
openssl ecparam -name prime256v1 -genkey -noout -out "$M/pki/node.key"
openssl req -new -key "$M/pki/node.key" -subj "/O=system:nodes/CN=system:node:$name" \
  | openssl x509 -req -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -CAserial "$M/pki/ca.srl" -days 3650 -out "$M/pki/node.crt" \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n') 2>/dev/null
install -m 644 "$pki/ca.crt" "$R/etc/kubernetes/pki/ca.crt"
b64() { base64 -w0 < "$1"; }
cat > "$R/etc/kubernetes/kubelet.conf" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: wasm-node-e2e
  cluster: {server: "$server", certificate-authority-data: $(b64 "$pki/ca.crt")}
users:
- name: system:node:$name
  user: {client-certificate-data: $(b64 "$M/pki/node.crt"), client-key-data: $(b64 "$M/pki/node.key")}
contexts:
- name: wasm-node-e2e
  context: {cluster: wasm-node-e2e, user: "system:node:$name"}
current-context: wasm-node-e2e
EOK
chmod 600 "$R/etc/kubernetes/kubelet.conf"

sed "s|@NODE_IP@|$node_ip|g" "$K/config.yaml" > "$R/var/lib/kubelet/config.yaml"
sed "s|@NODE_IP@|$node_ip|g" "$K/kubelet.service" > "$R/etc/systemd/system/kubelet.service"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../kubelet.service "$R/etc/systemd/system/multi-user.target.wants/kubelet.service"
install -D -m 755 "$K/kubelet-sysctl-view" "$R/usr/local/sbin/kubelet-sysctl-view"
mkdir -p "$R/etc/cni/net.d"
sed "s|@POD_SUBNET@|$subnet|g" "$K/cni.conflist" > "$R/etc/cni/net.d/10-machine-pods.conflist"

# The kubelet binary, and /dev/kmsg for its OOM watcher (nspawn gives the machine none).
printf 'BINDS+=(%q %q)\n' "$kubelet:/usr/bin/kubelet:ro" "/dev/kmsg:/dev/kmsg" >> "$M/machine.env"
log "machine $name joins $server as node $name ($node_ip, pods $subnet)"
