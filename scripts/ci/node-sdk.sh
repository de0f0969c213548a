#!/usr/bin/env bash
# The Node SDK (sdk/node): install its packages from the lockfile (npm's cache kept under ~/.cache/heddle-ci/npm),
# compile the TypeScript, run its own tests (node's test runner). The Python tests that run a Node step use the build.
set -euo pipefail
cd "$(dirname "$0")/../../sdk/node"
npm ci --no-audit --no-fund --prefer-offline --cache "$HOME/.cache/heddle-ci/npm"
npm test
