#!/usr/bin/env bash
# Interleaved A/B of what TOA costs a connection: one origin, an edgeproxy
# without and one with TOA on its TCP listener (the eBPF writer marks every
# origin socket), and ROUNDS alternating new-connection runs against each.
# Prints every figure and the TOA ÷ plain ratio of the means. Needs what
# TOA needs (root, cgroup v2, Linux ≥ 5.10). Knobs: C=64 (workers)
# ROUNDS=5 DUR=3 (s) NET=127.0.97
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${C:-64} ROUNDS=${ROUNDS:-5} DUR=${DUR:-3} NET=${NET:-127.0.97}
BENCH_NAME=toa-ab
source "$ROOT/bench/lib.sh"

(cd "$ROOT" && go build -o "$BIN/" ./bench/l4/loadgen ./bench/l4/origin ./bench/l4/edgeproxy)
refuse_taken "$NET.1:9000" "$NET.2:9000" "$NET.3:9000"
"$BIN/origin" -addr "$NET.1:9000" 2>/dev/null &
PIDS+=($!)
"$BIN/edgeproxy" -ip "$NET.2" -port 9000 -origin "$NET.1:9000" 2>/dev/null &
PIDS+=($!)
"$BIN/edgeproxy" -ip "$NET.3" -port 9000 -origin "$NET.1:9000" -toa 2>"$TMP/toa.log" &
PIDS+=($!)
for t in 1 2 3; do wait_port "$NET.$t" 9000 || true; done
started

log "new connections, $C workers, ${DUR}s, $ROUNDS rounds: plain ($NET.2) then TOA ($NET.3), conns/s"
ab_rounds conns 2 3 conns/s "TOA ÷ plain"
