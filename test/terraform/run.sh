#!/usr/bin/env bash
# Drives the tencentcloud Terraform provider's GAAP resource code against a
# throwaway opengaap server. Run by hand (not in CI); see README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/tfcheck.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	echo "server log: $work/server.log"
}
trap cleanup EXIT

start=$(date +%s)
(cd "$root" && go build -o "$work/opengaap" ./cmd/opengaap)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export TENCENTCLOUD_SECRET_ID=AKIDtfcheck000000000000000000000000
export TENCENTCLOUD_SECRET_KEY=tfchecksecretkey000000000000000
"$work/opengaap" serve --api-listen "127.0.0.1:$port" --data-dir "$work/data" \
	--vip-pool 127.78.0.0/24 --drain-grace 0 >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	if curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; then break; fi
	kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
	sleep 0.1
done

export OPENGAAP_ENDPOINT="127.0.0.1:$port"
# The provider retries retryable errors for 3 (read) and 5 (write) minutes;
# one minute is plenty against a local server and keeps failures short.
export TENCENTCLOUD_READ_RETRY_TIMEOUT=1 TENCENTCLOUD_WRITE_RETRY_TIMEOUT=1
export TFCHECK_FINDINGS="$work/findings.md" TFCHECK_SUMMARY="$work/summary.md"
rc=0
(cd "$here" && go test -count=1 -v -timeout 20m ./... "$@") >"$work/test.log" 2>&1 || rc=$?
grep -E '^(=== RUN|--- |    --- |\||ok|FAIL|PASS)' "$work/test.log" || true
echo "full test log: $work/test.log"
[ -s "$work/findings.md" ] && echo "failures with the wire exchanges: $work/findings.md"
echo "took $(($(date +%s) - start))s"
exit $rc
