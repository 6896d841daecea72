#!/usr/bin/env bash
# Makes the crun-wasm bundle the installer ships: crun (built with its WasmEdge handler) and
# every library it and the libwasmedge it dlopens need, from a root filesystem where those are
# installed (Debian trixie's crun and libwasmedge0: / in the image build, an unpacked closure
# in the tests). crun's ELF interpreter and DT_RPATH name a placeholder root that the installer
# rewrites to the bundle's directory on the node (src/installer/shims/relocate.ts); DT_RPATH, unlike
# RUNPATH, also governs the dlopened libwasmedge and its dependencies. Libraries that carry
# their own RUNPATH (libLLVM: $ORIGIN/../lib) get $ORIGIN, or their dependencies would come
# from the node. Writes OUT/crun-wasm/ and OUT/manifest-entry.json (a runtime entry of the
# installer's shims manifest, src/formats/shims-manifest.ts).
# Usage: bundle-crun-wasm.sh ROOT OUT VERSION   Needs patchelf, jq, sha256sum.
set -euo pipefail
root=${1:?usage: bundle-crun-wasm.sh ROOT OUT VERSION} out=${2:?} version=${3:?}
case "$(uname -m)" in
  x86_64) triplet=x86_64-linux-gnu ldso=ld-linux-x86-64.so.2 ;;
  aarch64) triplet=aarch64-linux-gnu ldso=ld-linux-aarch64.so.1 ;;
  *) echo "no crun-wasm bundle for $(uname -m)" >&2; exit 1 ;;
esac
# 128 bytes: room for <bin-dir>/<16 hex> with a bin dir of up to 110 bytes.
placeholder=/wasm-node-relocatable-bundle-root$(printf '_%.0s' $(seq 94))
lib=$root/usr/lib/$triplet
bundle=$out/crun-wasm
rm -rf "$bundle"; mkdir -p "$bundle/bin" "$bundle/lib"

# The closure by SONAME, from crun and the libwasmedge.so.0 its handler dlopens.
declare -A seen=()
queue=("$root/usr/bin/crun" "$lib/libwasmedge.so.0")
seen[libwasmedge.so.0]=1 seen[$ldso]=1
while [ ${#queue[@]} -gt 0 ]; do
  file=${queue[0]}; queue=("${queue[@]:1}")
  for needed in $(patchelf --print-needed "$file"); do
    [ -n "${seen[$needed]:-}" ] && continue
    [ -e "$lib/$needed" ] || { echo "$needed (needed by ${file##*/}) is not in $lib" >&2; exit 1; }
    seen[$needed]=1; queue+=("$lib/$needed")
  done
done
for name in "${!seen[@]}"; do
  cp -L "$lib/$name" "$bundle/lib/$name"
  chmod 0644 "$bundle/lib/$name"
  case "$(patchelf --print-rpath "$bundle/lib/$name" 2>/dev/null)" in
    '' | '$ORIGIN') ;;
    *) patchelf --set-rpath '$ORIGIN' "$bundle/lib/$name" ;;
  esac
done
# The kernel opens the interpreter like an executable.
chmod 0755 "$bundle/lib/$ldso"
cp "$root/usr/bin/crun" "$bundle/bin/crun"
chmod 0755 "$bundle/bin/crun"
patchelf --set-interpreter "$placeholder/lib/$ldso" --force-rpath --set-rpath "$placeholder/lib" \
  "$bundle/bin/crun"

(cd "$bundle" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum) > "$out/listing"
jq -n --arg version "$version" --arg sha "$(sha256sum < "$out/listing" | cut -d' ' -f1)" \
  --arg placeholder "$placeholder" --rawfile listing "$out/listing" '
  def mode($path): if ($path | startswith("bin/")) or ($path | endswith("/'"$ldso"'")) then 493 else 420 end;
  {name: "crun-wasm", version: $version, binary: "crun", sha256: $sha, bundle: {
    dir: "crun-wasm", placeholder: $placeholder, relocate: ["bin/crun"],
    files: [$listing | split("\n")[] | select(. != "") | capture("^(?<sha256>[0-9a-f]{64})  (?<path>.+)$")
      | {path, sha256, mode: mode(.path)}]}}' > "$out/manifest-entry.json"
rm "$out/listing"
