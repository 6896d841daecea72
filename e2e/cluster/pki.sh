#!/usr/bin/env bash
# Cluster certificates and kubeconfigs with openssl: a CA, the service-account key pair, the
# apiserver serving cert, client certs for admin, controller-manager, scheduler, the node and
# apiserver->kubelet, and kubeconfigs with the certs embedded (self-contained files).
# ECDSA P-256 keys: generating them takes milliseconds, so a control plane for a test starts
# in seconds. Usage: pki.sh DIR SERVER_URL NODE_NAME
set -euo pipefail
dir=$1 server=$2 node=$3
mkdir -p "$dir"; cd "$dir"
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"; chmod 600 "$1.key"; }

key ca
openssl req -x509 -new -key ca.key -subj /CN=wasm-node-e2e-ca -days 3650 -out ca.crt \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
key sa
openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null

cert() { # NAME SUBJECT EXTENDED_USAGE [SUBJECT_ALT_NAMES]
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" \
    | openssl x509 -req -CA ca.crt -CAkey ca.key -CAserial ca.srl -CAcreateserial -days 3650 -out "$1.crt" \
      -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
        "$3" "${4:+subjectAltName=$4}") 2>/dev/null
}
# The serving cert also names the host of SERVER_URL (the cluster's bridge address).
host=${server#https://}; host=${host%%:*}
cert apiserver /CN=kube-apiserver serverAuth \
  "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1$([[ $host =~ ^[0-9.]+$ && $host != 127.0.0.1 ]] && echo ",IP:$host")"
cert admin /O=system:masters/CN=admin clientAuth
cert controller-manager /CN=system:kube-controller-manager clientAuth
cert scheduler /CN=system:kube-scheduler clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$node" clientAuth
cert apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client clientAuth

b64() { base64 -w0 < "$1"; }
for who in admin controller-manager scheduler kubelet; do
  cat > "$who.kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: wasm-node-e2e
  cluster:
    server: $server
    certificate-authority-data: $(b64 ca.crt)
users:
- name: $who
  user:
    client-certificate-data: $(b64 "$who.crt")
    client-key-data: $(b64 "$who.key")
contexts:
- name: wasm-node-e2e
  context: {cluster: wasm-node-e2e, user: $who}
current-context: wasm-node-e2e
EOK
  chmod 600 "$who.kubeconfig"
done
