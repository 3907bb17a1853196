#!/usr/bin/env bash
# Runs every test of the project: formatting and vet, generated code up to
# date, the unit and end-to-end suites on SQLite and PostgreSQL (a server is
# installed and started by scripts/pg.sh when none is running), and each fuzz
# target briefly on its corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt, go vet"
unformatted=$(git ls-files --cached --others --exclude-standard '*.go' | while read -r f; do [ -f "$f" ] && echo "$f"; done | xargs gofmt -l)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
go vet ./...

echo "== generated code is up to date"
go generate ./...
git diff --exit-code -- '*zz_generated*' || { echo "run go generate and commit"; exit 1; }

echo "== PostgreSQL"
# Stop the server again at the end unless one was already running: tests
# leave no process behind.
pg_was_running=$([ -f "${PGTEST_DIR:-/tmp/opengaap-pg}/data/postmaster.pid" ] && echo yes || true)
OPENGAAP_TEST_POSTGRES=$(scripts/pg.sh | tail -n 1)
export OPENGAAP_TEST_POSTGRES
[ -n "$pg_was_running" ] || trap 'scripts/pg.sh stop >/dev/null 2>&1 || true' EXIT

echo "== tshark (the traffic mirror test decodes its capture with it)"
command -v tshark || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tshark)

echo "== tests (SQLite API store; store suite on both engines)"
# The data-plane package measures rates (bandwidth caps within 10%): it runs
# on its own afterwards, so other packages' tests do not starve it of CPU.
go test -count=1 -timeout 15m $(go list ./... | grep -v '/internal/edge$')

echo "== data-plane tests, alone"
go test -count=1 -timeout 5m ./internal/edge

echo "== API and end-to-end tests on PostgreSQL"
OPENGAAP_TEST_STORE=postgres go test -count=1 -timeout 10m ./internal/gaap/ ./internal/teo/ ./internal/vpc/ ./internal/server/

echo "== Node SDK end-to-end tests (teo)"
scripts/node-tests.sh

echo "== fuzz targets"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    # A count, not a duration: Go 1.26's fuzz coordinator can report a
    # spurious "context deadline exceeded" when a duration runs out under
    # load (golang/go#75804, fixed in Go 1.27).
    go test -run='^$' -fuzz="^${target}\$" -fuzztime=50000x "$pkg"
  done
done
echo "all tests passed"
