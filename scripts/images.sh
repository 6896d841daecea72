#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# npm run images: builds the operator and installer images from the Dockerfile with buildah
# (no daemon) into OCI archives, for this machine's architecture, on machines that reach no
# container registry and no GitHub: the bases are stand-ins made from Debian's packages
# (scripts/images/stand-in-bases.sh) and the installer's shims come from a local directory
# (BUNDLES=local) instead of release downloads. Each variant is cached by the hash of its
# inputs, so a warm run takes seconds. Progress goes to stderr; stdout is a JSON description:
#   {"arch": "amd64", "images": {"operator": {"ref", "archive", "digest", "bytes"}, ...}}
# Usage: images.sh [--arch amd64|arm64] [VARIANT...]     (default: operator installer)
#   operator             localhost/wasm-node-operator:e2e
#   installer            localhost/wasm-node-installer:e2e        the test shim (wasmtime)
#   installer-corrupt    localhost/wasm-node-installer:corrupt    the same, its binary altered
#                        after its checksum was taken: the installer must refuse it
#   installer-crun-wasm  localhost/wasm-node-installer:crun-wasm  the test shim and crun-wasm
# The test shim is built for this machine only; other architectures get the operator only.
# shellcheck source=../e2e/tools/lib.sh
source "$(dirname "$0")/../e2e/tools/lib.sh"
REPO=$(cd "$(dirname "$0")/.." && pwd)
ARCH=$(dpkg --print-architecture)
if [ "${1:-}" = --arch ]; then ARCH=${2:?--arch needs amd64 or arm64}; shift 2; fi
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(operator installer)
bash "$REPO/e2e/tools/ensure-packages.sh" buildah jq
cd "$REPO" || exit 1

ref_of() {
  case "$1" in
    operator) echo localhost/wasm-node-operator:e2e ;;
    installer) echo localhost/wasm-node-installer:e2e ;;
    installer-corrupt) echo localhost/wasm-node-installer:corrupt ;;
    installer-crun-wasm) echo localhost/wasm-node-installer:crun-wasm ;;
    *) log "images.sh: unknown variant $1 (operator, installer, installer-corrupt, installer-crun-wasm)"; exit 2 ;;
  esac
}
for v in "${VARIANTS[@]}"; do
  ref_of "$v" >/dev/null
  if [ "$v" != operator ] && [ "$ARCH" != "$(dpkg --print-architecture)" ]; then
    log "images.sh: $v needs the test shim, which is built for $(dpkg --print-architecture) only"; exit 2
  fi
done

BASES=$(bash scripts/images/stand-in-bases.sh "$ARCH")
# The Dockerfile's inputs are the build context, which .dockerignore lists.
mapfile -t INPUTS < <(sed -n 's/^!//p' .dockerignore)
CONTEXT_HASH=$( {
  find "${INPUTS[@]}" -type f ! -name '*.test.ts' | LC_ALL=C sort | xargs sha256sum
  # Paths relative to the repo: a clean clone elsewhere must find the images it already built.
  sha256sum Dockerfile .dockerignore scripts/images.sh scripts/images/local-shims.sh
  echo "$BASES"; buildah --version
} | sha256sum | cut -c1-16)
VERSION=$(jq -r .version package.json)
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)

# One throwaway store for all the cold variants of this run (made here: cached_build runs the
# builds in subshells): with --layers the installers reuse the bundle stage the first one built.
STORE=$(mktemp -d "${TMPDIR:-/tmp}/images.XXXXXX")
B=(--root "$STORE/root" --runroot "$STORE/run" --storage-driver overlay)
cleanup() {
  if [ -d "$STORE/root" ]; then
    buildah "${B[@]}" rm --all >/dev/null 2>&1 || true
    buildah "${B[@]}" rmi --all --force >/dev/null 2>&1 || true
  fi
  rm -rf "$STORE"
}
trap cleanup EXIT
trap 'exit 1' TERM INT

build() { # VARIANT LOCAL_SHIMS OUT_DIR
  local variant=$1 shims=$2 out=$3 ref target=installer runtimes=wasmtime start=$SECONDS
  ref=$(ref_of "$variant")
  case "$variant" in
    operator) target=operator ;;
    installer-crun-wasm) runtimes=wasmtime,crun-wasm ;;
  esac
  local args=(--build-arg "NODE_IMAGE=oci-archive:$BASES/node.tar"
    --build-arg "DISTROLESS_NODE_IMAGE=oci-archive:$BASES/distroless.tar"
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION")
  [ "$target" = installer ] && args+=(--build-arg BUNDLES=local --build-arg "RUNTIMES=$runtimes"
    --build-context "local-shims=$shims/context")
  # The build reaches the npm registry (npm ci) and nothing else: on the host's network (no CNI
  # network is set up for buildah here), trusting the CAs this machine trusts.
  buildah "${B[@]}" bud --layers --network host --secret "id=build-ca,src=$CA_BUNDLE" \
    --platform "linux/$ARCH" --target "$target" "${args[@]}" -t "$ref" -f Dockerfile . >&2 \
    && buildah "${B[@]}" push --quiet "$ref" "oci-archive:$out/image.tar.tmp:$ref" >&2 \
    && mv "$out/image.tar.tmp" "$out/image.tar" || return 1
  log "built $ref for $ARCH in $((SECONDS - start))s ($(du -h "$out/image.tar" | cut -f1))"
}

describe() { # VARIANT DIR
  local archive=$2/image.tar
  jq -n --arg ref "$(ref_of "$1")" --arg archive "$archive" --argjson bytes "$(stat -c %s "$archive")" \
    --arg digest "$(tar -xOf "$archive" index.json | jq -r '.manifests[0].digest')" \
    '{ref: $ref, archive: $archive, digest: $digest, bytes: $bytes}'
}

declare -A described=()
for variant in "${VARIANTS[@]}"; do
  shims=''
  if [ "$variant" != operator ]; then shims=$(bash scripts/images/local-shims.sh "$variant"); fi
  key=$( (echo "$CONTEXT_HASH $variant $ARCH $VERSION"; [ -z "$shims" ] || cat "$shims/inputs") \
    | sha256sum | cut -c1-16)
  name=image-$variant-$ARCH-$key
  # shellcheck disable=SC2317 # called by cached_build
  build_variant() { build "$variant" "$shims" "$1"; }
  dir=$(cached_build "$name" build_variant)
  # Older builds of this variant pile up with every change of the sources; a day's grace keeps
  # those another worktree's run may still be importing.
  find "$CACHE_ROOT" -maxdepth 1 -name "image-$variant-$ARCH-*" ! -name "$name" -mmin +1440 \
    -exec rm -rf {} + 2>/dev/null || true
  described[$variant]=$(describe "$variant" "$dir")
  log "$(ref_of "$variant"): $dir/image.tar"
done
for variant in "${VARIANTS[@]}"; do echo "${described[$variant]}"; done |
  jq -s --arg arch "$ARCH" --args '{arch: $arch, images: ([$ARGS.positional, .] | transpose | map({(.[0]): .[1]}) | add)}' \
    "${VARIANTS[@]}"
