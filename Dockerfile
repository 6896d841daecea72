# syntax=docker/dockerfile:1
# The two images of wasm-node-operator, built from the repository root. One Dockerfile for every
# build: the release (.github/workflows/release.yaml, multi-arch with buildx) and the builds on
# machines without a registry (scripts/images.sh: buildah, stand-in bases, local shims):
#   docker buildx build --platform linux/amd64,linux/arm64 --target operator \
#     -t ghcr.io/wasm-node/wasm-node-operator:0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --target installer \
#     -t ghcr.io/wasm-node/wasm-node-installer:0.1.0 .
# Each runs one esbuild bundle (npm run bundle) on Node 24. The installer also carries the shims
# of installer-image/versions.json, downloaded and verified during the build.

# The bases, pinned by digest (docs/decisions/0009-image-bases.md says where each digest was
# read; the release workflow re-resolves the tags and builds on what they name that day).
# scripts/images.sh passes stand-ins of the same shape made from Debian's packages.
ARG NODE_IMAGE=docker.io/library/node:24-trixie-slim@sha256:c319bb4fac67c01ced508b67193a0397e02d37555d8f9b72958649efd302b7f8
ARG DISTROLESS_NODE_IMAGE=gcr.io/distroless/nodejs24-debian13@sha256:fbbdda866ea71aef98c4abece17e3d61fbf820cc2ef3961522caa2478716171a
ARG DEBIAN_IMAGE=docker.io/library/debian:trixie-slim@sha256:d7e12182ce18b85b93007c1dedf31f2d29e01ccf3182cc4017c709b6259bc132
# Runtimes not downloaded by the shims stage come from a directory chosen here:
#   none       nothing (the default image: wasmtime and spin, both downloaded)
#   crun-wasm  the crun-wasm stage below; also pass RUNTIMES=wasmtime,spin,crun-wasm
#   local      the build context `local-shims` (--build-context local-shims=DIR): one directory
#              per runtime with its manifest-entry.json, for builds that cannot download
ARG BUNDLES=none

# The bundles are plain JavaScript: built once, on the build machine's architecture.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS bundle
WORKDIR /src
COPY package.json package-lock.json ./
# build-ca: an optional build secret, the CA of a TLS-intercepting proxy on the way to the npm
# registry (scripts/images.sh passes the machine's CA bundle).
RUN --mount=type=cache,target=/root/.npm --mount=type=secret,id=build-ca \
    [ ! -e /run/secrets/build-ca ] || export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; \
    npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/bundle.ts scripts/fetch-shims.ts scripts/
COPY src src
COPY installer-image/versions.json installer-image/
RUN node scripts/bundle.ts

# crun-wasm: crun with its WasmEdge handler. No crun release has one, Debian trixie builds it;
# the stage checks the crun .deb against versions.json and bundles crun with every library it
# and libwasmedge need, to run on nodes of any distribution (installer-image/bundle-crun-wasm.sh).
# Built for the target architecture, and only with BUNDLES=crun-wasm.
FROM ${DEBIAN_IMAGE} AS crun-wasm
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

FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS bundles-none
RUN mkdir -p /out
FROM crun-wasm AS bundles-crun-wasm
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS bundles-local
COPY --from=local-shims . /out
FROM bundles-${BUNDLES} AS bundles

# The shims of the target architecture: each runtime of RUNTIMES is taken from the bundles
# directory if it is there, else downloaded, and refused unless it hashes to its pin. RUNTIMES
# must cover the operator's config.runtimes.
FROM bundle AS shims
ARG TARGETARCH
ARG RUNTIMES=wasmtime,spin
COPY --from=bundles /out /bundles
RUN node scripts/fetch-shims.ts --arch "$TARGETARCH" --runtimes "$RUNTIMES" --bundles /bundles \
      --out /out/shims

FROM ${DISTROLESS_NODE_IMAGE} AS operator
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/wasm-node/wasm-node-operator
LABEL org.opencontainers.image.title=wasm-node-operator \
      org.opencontainers.image.description="Kubernetes operator that turns nodes into nodes that also run WebAssembly workloads" \
      org.opencontainers.image.licenses=Apache-2.0 \
      org.opencontainers.image.source=$SOURCE \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$REVISION
COPY --from=bundle /src/dist/wasm-node-operator.mjs /src/dist/wasm-node-operator.mjs.LEGAL.txt \
     /usr/local/lib/wasm-node/
ENV NODE_ENV=production
# The chart runs it as 65532 with a read-only root filesystem; the image agrees. Kubernetes
# probes /healthz and /readyz, so there is no HEALTHCHECK.
USER 65532:65532
# V8 grows the young generation under a rollout's allocation rate and keeps it (new space 128 MiB
# at 5,000 nodes); semi-spaces capped at 16 MiB took peak RSS 257 -> 230 MiB and idle 253 -> 233
# MiB for no extra CPU (docs/benchmarks.md, "Memory: the young generation").
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "/usr/local/lib/wasm-node/wasm-node-operator.mjs"]

# Last, so a plain `docker build .` builds the installer. It runs as root with the node's PID
# namespace, and needs nsenter (util-linux, in every Debian image) to reach containerd's.
FROM ${NODE_IMAGE} AS installer
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/wasm-node/wasm-node-operator
LABEL org.opencontainers.image.title=wasm-node-installer \
      org.opencontainers.image.description="Installs WebAssembly containerd shims on a Kubernetes node" \
      org.opencontainers.image.licenses=Apache-2.0 \
      org.opencontainers.image.source=$SOURCE \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$REVISION
COPY --from=bundle /src/dist/wasm-node-installer.mjs /src/dist/wasm-node-installer.mjs.LEGAL.txt \
     /usr/local/lib/wasm-node/
COPY --from=shims /out/shims /opt/wasm-node/shims
RUN printf '#!/bin/sh\nexec node /usr/local/lib/wasm-node/wasm-node-installer.mjs "$@"\n' \
      > /usr/local/bin/wasm-node-installer \
 && chmod 755 /usr/local/bin/wasm-node-installer
ENV NODE_ENV=production
ENTRYPOINT ["wasm-node-installer"]
