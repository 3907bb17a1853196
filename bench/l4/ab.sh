#!/usr/bin/env bash
# Interleaved A/B of two builds of bench/l4/edgeproxy: one origin, both
# proxies up at once, and ROUNDS alternating loadgen runs against each
# (new connections/s, then 64-byte request/response ops/s), so drift on a
# noisy box hits both alike. Prints every pair and the B ÷ A ratio of the
# means.
#
#   bench/l4/ab.sh A B      # A, B: edgeproxy binaries (go build -o ... ./bench/l4/edgeproxy)
#
# Knobs: C=64 (workers) ROUNDS=5 DUR=3 (s) NET=127.0.98 (.1 origin, .2 A, .3 B)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(($# == 2)) || { echo "usage: $0 edgeproxy-A edgeproxy-B" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
C=${C:-64} ROUNDS=${ROUNDS:-5} DUR=${DUR:-3} NET=${NET:-127.0.98}
BENCH_NAME=l4-ab
source "$ROOT/bench/lib.sh"

(cd "$ROOT" && go build -o "$BIN/" ./bench/l4/loadgen ./bench/l4/origin)
refuse_taken "$NET.1:9000" "$NET.2:9000" "$NET.3:9000"
"$BIN/origin" -addr "$NET.1:9000" 2>"$TMP/origin.log" &
PIDS+=($!)
"$A" -ip "$NET.2" -port 9000 -origin "$NET.1:9000" 2>"$TMP/a.log" &
PIDS+=($!)
"$B" -ip "$NET.3" -port 9000 -origin "$NET.1:9000" 2>"$TMP/b.log" &
PIDS+=($!)
for t in 1 2 3; do wait_port "$NET.$t" 9000; done
started

log "new connections, $C workers, ${DUR}s, $ROUNDS rounds: A ($NET.2) then B ($NET.3), conns/s"
ab_rounds conns 2 3 conns/s "B ÷ A"
log "64-byte request/response, ops/s"
ab_rounds rr 2 3 ops/s "B ÷ A"
