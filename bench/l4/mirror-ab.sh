#!/usr/bin/env bash
# Interleaved A/B of what mirroring costs a connection: one origin, an
# unmirrored and a mirrored edgeproxy (VXLAN to a collector process), and
# ROUNDS alternating bulk runs against each, so drift on this noisy box hits
# both alike. Prints every figure and the mirrored ÷ unmirrored ratio of the
# means. Knobs: C=1 (connections) ROUNDS=5 DUR=3 (s) RATE= (edgeproxy
# -mirror-rate) NET=127.0.94 EDGEPROXY_B= (another edgeproxy binary for the
# mirrored side, e.g. built from an older tree).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${C:-1} ROUNDS=${ROUNDS:-5} DUR=${DUR:-3} NET=${NET:-127.0.94}
BENCH_NAME=mirror-ab
source "$ROOT/bench/lib.sh"

(cd "$ROOT" && go build -o "$BIN/" ./bench/l4/loadgen ./bench/l4/origin ./bench/l4/edgeproxy)
B=${EDGEPROXY_B:-$BIN/edgeproxy}
rate=()
[[ -n ${RATE:-} ]] && rate=(-mirror-rate "$RATE")

refuse_taken "$NET.1:9000" "$NET.2:9000" "$NET.5:9000"
"$BIN/origin" -addr "$NET.1:9000" 2>/dev/null &
PIDS+=($!)
"$BIN/edgeproxy" -ip "$NET.2" -port 9000 -origin "$NET.1:9000" 2>/dev/null &
PIDS+=($!)
"$BIN/loadgen" collect -addr "$NET.6:4789" 2>"$TMP/collector.log" &
CPID=$!
PIDS+=("$CPID")
"$B" -ip "$NET.5" -port 9000 -origin "$NET.1:9000" -mirror "$NET.6:4789" "${rate[@]}" 2>/dev/null &
PIDS+=($!)
for t in 1 2 5; do wait_port "$NET.$t" 9000; done
started

log "bulk, $C connection(s), ${DUR}s, $ROUNDS rounds: unmirrored ($NET.2) then mirrored ($NET.5), MB/s"
ab_rounds bulk 2 5 MB/s "mirrored ÷ unmirrored"
kill -TERM "$CPID" && wait "$CPID" 2>/dev/null || true
cat "$TMP/collector.log" >&2