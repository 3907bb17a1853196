#!/usr/bin/env bash
# Runs the end-to-end tests that drive opengaap through the official Tencent
# Cloud Node.js SDK (test/node): installs the locked dependencies when
# node_modules is missing (npm ci, from package-lock.json), builds the
# binary once, and runs node's test runner.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/test/node"
if [ ! -d node_modules ]; then
	npm ci --no-audit --no-fund --prefer-offline
fi

bin_dir="$(mktemp -d)"
trap 'rm -rf "$bin_dir"' EXIT
(cd "$repo" && go build -o "$bin_dir/opengaap" ./cmd/opengaap)
# The test origin (test/origin) decodes PROXY/SPP headers for traffic.test.mjs.
(cd "$repo" && go build -o "$bin_dir/origin" ./test/origin)

OPENGAAP_BIN="$bin_dir/opengaap" OPENGAAP_ORIGIN_BIN="$bin_dir/origin" node --test "$@"
