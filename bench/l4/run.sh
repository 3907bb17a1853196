#!/usr/bin/env bash
# bench/l4/run.sh — layer-4 data plane benchmark: direct vs opengaap (the
# internal/edge engine, standalone) vs haproxy vs nginx, loopback only.
#
#   sudo bench/l4/run.sh            # full run, ~3 minutes
#   DUR=2 bench/l4/run.sh           # shorter windows
#
# Environment:
#   DUR=5               measured seconds per test and target (bounded 1..20)
#   NET=127.0.93        /24 prefix: .1 origin, .2 opengaap, .3 haproxy, .4 nginx,
#                       .5 opengaap with a traffic mirror (bulk tests only) to
#                       a collector on .6:4789
#   MIRROR_ROUNDS=3     interleaved unmirrored/mirrored bulk pairs (1 and 4
#                       connections) that measure what mirroring costs
#   PORT=9000           TCP and UDP port everywhere
#   HAPROXY_SPLICE=forced|auto|off  haproxy splice mode (default forced)
#   PROFILE=1           write a CPU profile of the edgeproxy for the whole run
#   OUT=/tmp/opengaap-l4-last  where results.jsonl, report.md, strace and
#                       profile files are kept (the temp dir is removed)
#
# Installs haproxy, nginx, libnginx-mod-stream, strace and jq with apt-get when
# missing. Every process it starts is killed on exit; configs live in a temp
# dir; every socket is on 127.0.0.0/8.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-5}
((DUR < 1)) && DUR=1
((DUR > 20)) && DUR=20
NET=${NET:-127.0.93}
PORT=${PORT:-9000}
HAPROXY_SPLICE=${HAPROXY_SPLICE:-forced}
MIRROR_ROUNDS=${MIRROR_ROUNDS:-3}
OUT=${OUT:-/tmp/opengaap-l4-last}
BENCH_NAME=l4
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# --- dependencies -----------------------------------------------------------
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx)
command -v jq >/dev/null || missing+=(jq)
[[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || missing+=(libnginx-mod-stream)
command -v strace >/dev/null || missing+=(strace)
apt_install "${missing[@]}"

log "building loadgen, origin, edgeproxy"
(cd "$ROOT" && go build -o "$BIN/" ./bench/l4/loadgen ./bench/l4/origin ./bench/l4/edgeproxy)
mkdir -p "$OUT"
rm -f "$OUT"/results.jsonl "$OUT"/strace-*.txt "$OUT"/edgeproxy.cpu.pprof

# --- servers ----------------------------------------------------------------
O=$NET.1 G=$NET.2 H=$NET.3 N=$NET.4 M=$NET.5 C=$NET.6

refuse_taken "$O:$PORT" "$G:$PORT" "$H:$PORT" "$N:$PORT" "$M:$PORT"

"$BIN/origin" -addr "$O:$PORT" 2>"$TMP/origin.log" &
OPID=$!
PIDS+=("$OPID")
wait_port "$O" "$PORT"

prof=()
[[ -n ${PROFILE:-} ]] && prof=(-cpuprofile "$OUT/edgeproxy.cpu.pprof")
"$BIN/edgeproxy" -ip "$G" -port "$PORT" -origin "$O:$PORT" "${prof[@]}" 2>"$TMP/edgeproxy.log" &
GPID=$!
PIDS+=("$GPID")

# The same engine with a mirror of its proxy (VXLAN, both directions, default
# rate cap) to a collector process that reads and discards.
"$BIN/loadgen" collect -addr "$C:4789" 2>"$TMP/collector.log" &
CPID=$!
PIDS+=("$CPID")
"$BIN/edgeproxy" -ip "$M" -port "$PORT" -origin "$O:$PORT" -mirror "$C:4789" 2>"$TMP/edgeproxy-mirror.log" &
MPID=$!
PIDS+=("$MPID")

haproxy_tcp_config "$H:$PORT" "$O:$PORT" "$HAPROXY_SPLICE" >"$TMP/haproxy.cfg"
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")

mkdir -p "$TMP/nginx/logs"
cat >"$TMP/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $(nproc);
worker_rlimit_nofile 16384;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
daemon off;
events { worker_connections 8192; }
stream {
	server {
		listen $N:$PORT;
		proxy_pass $O:$PORT;
	}
	server {
		listen $N:$PORT udp;
		proxy_pass $O:$PORT;
		proxy_responses 1;
		proxy_timeout 10s;
	}
}
EOF
nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" &
NPID=$!
PIDS+=("$NPID")

wait_port "$G" "$PORT"
wait_port "$M" "$PORT"
wait_port "$H" "$PORT"
wait_port "$N" "$PORT"
sleep 0.3
started
NWORKERS=$(pgrep -P "$NPID" | paste -sd, -)
[[ -n $NWORKERS ]] || { echo "nginx has no workers" >&2; cat "$TMP/nginx-error.log" >&2; exit 1; }

declare -A ADDR=([direct]=$O [opengaap]=$G [opengaap+mirror]=$M [haproxy]=$H [nginx]=$N)
declare -A PIDOF=([direct]="" [opengaap]=$GPID [opengaap+mirror]="$MPID" [haproxy]=$HPID [nginx]="$NPID,$NWORKERS")
TARGETS=(direct opengaap opengaap+mirror haproxy nginx)

{
	echo "host: $(nproc) cores, $(uname -r), $(go version | cut -d' ' -f3)"
	echo "haproxy: $(haproxy -v | head -1 | cut -d' ' -f3) (nbthread $(nproc), splice $HAPROXY_SPLICE)"
	echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2) (worker_processes $(nproc))"
	echo "pids: origin $OPID, opengaap $GPID, opengaap+mirror $MPID (collector $CPID), haproxy $HPID, nginx $NPID+[$NWORKERS]"
} | tee "$OUT/host.txt" >&2

# --- tests ------------------------------------------------------------------
lg() { "$BIN/loadgen" "$@"; }

# one NAME TARGET SUBCOMMAND [flags...]: one measurement, kept in results.jsonl.
one() {
	local name=$1 t=$2 sub=$3
	shift 3
	printf '  %-7s %-15s ' "$name" "$t" >&2
	lg "$sub" -name "$name" -label "$t" -target "${ADDR[$t]}:$PORT" -duration "${DUR}s" \
		-pids "${PIDOF[$t]}" -origin-pid "$OPID" "$@" | tee -a "$OUT/results.jsonl" |
		jq -r '"\(.value|floor) \(.unit)  p99=\(.p99_us // "-")us  proxyCPU=\(.proxy_cpu_s)s  errors=\(.errors)"' >&2
}

# run NAME SUBCOMMAND [flags...]: the test against every target but the
# mirrored one (measured in pairs below).
run() {
	local name=$1 sub=$2 t
	shift 2
	for t in "${TARGETS[@]}"; do
		[[ $sub == udp && $t == haproxy ]] && continue # haproxy does not proxy UDP.
		[[ $sub == idle && $t == direct ]] && continue # No proxy's memory to measure.
		[[ $t == opengaap+mirror ]] && continue
		one "$name" "$t" "$sub" "$@"
	done
}

# Memory per idle connection first, while each proxy has served nothing:
# memory earlier tests freed would be reused by these connections unseen.
log "idle connections (1000 per proxy, after one 64-byte echo each)"
run idle idle -c 1000 -mode tcp -duration 3s

log "warm-up"
for t in "${TARGETS[@]}"; do
	lg rr -target "${ADDR[$t]}:$PORT" -duration 500ms -c 8 >/dev/null
done

log "tests (${DUR}s each)"
run bulk1 bulk -c 1
run bulk4 bulk -c 4
run rr rr -c 32 -size 64
run conns conns -c 64 -size 64
run udp udp -c 4 -window 32 -size 64

# What mirroring costs is a ratio of two bulk figures that single runs on
# this box scatter by ±10 %: measure it in interleaved pairs (unmirrored,
# then mirrored, MIRROR_ROUNDS times) and report the means.
log "mirror pairs ($MIRROR_ROUNDS rounds, ${DUR}s each)"
for _ in $(seq "$MIRROR_ROUNDS"); do
	for c in 1 4; do
		for t in opengaap opengaap+mirror; do
			one "mirror$c" "$t" bulk -c "$c"
		done
	done
done

# --- splice(2) evidence: strace on a separate, unmeasured bulk run ----------
strace_splice() { # label pid
	local f=$OUT/strace-$1.txt
	lg bulk -label "$1" -target "${ADDR[$1]}:$PORT" -duration 4s -warmup 0 >"$TMP/strace-bulk-$1.json" &
	local lgpid=$!
	sleep 1
	timeout -s INT 2 strace -f -c -e trace=splice -p "$2" -o "$f" 2>/dev/null || true
	wait "$lgpid"
	local calls
	calls=$(awk '$NF=="splice"{print $4}' "$f")
	echo "${calls:-0}"
}
log "strace -f -c -e trace=splice -p <pid> for 2 s during a 4 s bulk run (not measured)"
SPLICE_OG=$(strace_splice opengaap "$GPID")
SPLICE_HA=$(strace_splice haproxy "$HPID")
# The same during 64-byte request/response: opengaap splices only bulk
# streams, small messages take read/write.
log "strace -f -c -e trace=splice,read,recvmsg,write -p <opengaap pid> for 2 s during a 4 s rr run (not measured)"
lg rr -c 32 -size 64 -target "$G:$PORT" -duration 4s -warmup 0 >"$TMP/strace-rr.json" &
rrpid=$!
sleep 1
timeout -s INT 2 strace -f -c -e trace=splice,read,recvmsg,write -p "$GPID" -o "$OUT/strace-opengaap-rr.txt" 2>/dev/null || true
wait "$rrpid"

# --- report -----------------------------------------------------------------
{
	echo "Command: bench/l4/run.sh (DUR=$DUR, HAPROXY_SPLICE=$HAPROXY_SPLICE)"
	sed 's/^/    /' "$OUT/host.txt"
	echo
	lg report "$OUT/results.jsonl"
	echo
	echo "splice(2) calls in 2 s of bulk (strace -f -c -e trace=splice -p <pid>):"
	echo "  opengaap edgeproxy (pid $GPID): $SPLICE_OG"
	echo "  haproxy (pid $HPID, splice $HAPROXY_SPLICE): $SPLICE_HA"
	echo
	echo "opengaap strace summary (bulk1):"
	sed 's/^/    /' "$OUT/strace-opengaap.txt"
	echo
	echo "opengaap strace summary (rr, 32 conns x 64 B):"
	sed 's/^/    /' "$OUT/strace-opengaap-rr.txt"
} | tee "$OUT/report.md"
log "results kept in $OUT"
