#!/usr/bin/env bash
# npm run lint:workflows (part of npm run lint): actionlint, with shellcheck on the run: steps,
# over .github/workflows/. Both come from the registries: actionlint built from the Go module
# proxy and cached, shellcheck from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
bash e2e/tools/ensure-packages.sh shellcheck
actionlint=$(bash e2e/tools/build-actionlint.sh)
"$actionlint" -shellcheck "$(command -v shellcheck)"
