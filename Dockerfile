# syntax=docker/dockerfile:1
# The two images of wasm-node-operator, built from the repository root (multi-arch with buildx):
#   docker buildx build --platform linux/amd64,linux/arm64 --target operator \
#     -t ghcr.io/wasm-node/wasm-node-operator:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --target installer \
#     -t ghcr.io/wasm-node/wasm-node-installer:0.1.0 .
# Each runs one esbuild bundle (npm run bundle) on Node 24. The installer also carries the shim
# binaries pinned in installer-image/versions.json, downloaded and verified during the build.
ARG NODE_IMAGE=node:24-alpine
# crun-wasm is the one runtime built into a bundle by a stage here instead of downloaded: to
# ship it, pass --build-arg RUNTIMES=wasmtime,spin,crun-wasm --build-arg BUNDLES=crun-wasm.
ARG BUNDLES=none

# The bundles are plain JavaScript: built once, on the build machine's architecture.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS bundle
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/bundle.ts scripts/fetch-shims.ts scripts/
COPY src src
COPY installer-image/versions.json installer-image/
RUN node scripts/bundle.ts

# crun-wasm: crun with its WasmEdge handler. No crun release has one, Debian trixie builds it;
# the stage checks the crun .deb against versions.json and bundles crun with every library it
# and libwasmedge need, to run on nodes of any distribution (installer-image/bundle-crun-wasm.sh).
# Built for the target architecture, and only with BUNDLES=crun-wasm (see bundles below).
FROM debian:trixie-slim AS crun-wasm
COPY installer-image/versions.json installer-image/bundle-crun-wasm.sh /build/
WORKDIR /build
RUN set -eu; apt-get update; \
    apt-get install -y --no-install-recommends jq patchelf; \
    arch=$(dpkg --print-architecture); \
    crun=$(jq -r '.runtimes["crun-wasm"].version' versions.json); \
    sha=$(jq -r --arg a "$arch" '.runtimes["crun-wasm"].artifacts[$a].sha256' versions.json); \
    apt-get download "crun=$crun"; \
    echo "$sha  crun_${crun}_${arch}.deb" | sha256sum -c; \
    apt-get install -y --no-install-recommends "./crun_${crun}_${arch}.deb" \
      $(jq -r '.runtimes["crun-wasm"].bundle.debianPackages | to_entries[] | "\(.key)=\(.value)"' versions.json); \
    bash bundle-crun-wasm.sh / /out/crun-wasm "$crun"

# BUNDLES=crun-wasm builds that stage; by default an empty directory stands in for it.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS bundles-none
RUN mkdir -p /out
FROM crun-wasm AS bundles-crun-wasm
FROM bundles-${BUNDLES} AS bundles

# The shims of the target architecture. The build fails if an archive does not hash to its pin
# or has no pin; RUNTIMES must cover the operator's config.runtimes (with crun-wasm in it,
# also pass BUNDLES=crun-wasm).
FROM --platform=$BUILDPLATFORM bundle AS shims
ARG TARGETARCH
ARG RUNTIMES=wasmtime,spin
COPY --from=bundles /out /bundles
RUN node scripts/fetch-shims.ts --arch "$TARGETARCH" --runtimes "$RUNTIMES" --bundles /bundles \
      --out /out/shims

FROM ${NODE_IMAGE} AS operator
COPY --from=bundle /src/dist/wasm-node-operator.mjs /usr/local/lib/wasm-node/
# The chart runs it as 65532 with a read-only root filesystem; the image agrees.
USER 65532:65532
ENTRYPOINT ["node", "/usr/local/lib/wasm-node/wasm-node-operator.mjs"]

# Last, so a plain `docker build .` builds the installer.
FROM ${NODE_IMAGE} AS installer
# nsenter (util-linux): the installer restarts containerd inside the host's namespaces.
RUN apk add --no-cache util-linux-misc
COPY --from=bundle /src/dist/wasm-node-installer.mjs /usr/local/lib/wasm-node/
COPY --from=shims /out/shims /opt/wasm-node/shims
RUN printf '#!/bin/sh\nexec node /usr/local/lib/wasm-node/wasm-node-installer.mjs "$@"\n' \
      > /usr/local/bin/wasm-node-installer \
 && chmod 755 /usr/local/bin/wasm-node-installer
ENTRYPOINT ["wasm-node-installer"]
