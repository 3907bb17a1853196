#!/usr/bin/env bash
# What an own event loop would buy in new connections per second: the conns
# test (64 workers: connect → 64 B echo → close) interleaved against
# haproxy, opengaap (bench/l4/edgeproxy), bench/l4/epollfloor (a raw
# epoll forwarder with nothing but forwarding) and bench/l4/netfloor (the
# same on the net package, a goroutine per direction), with each proxy's user and
# system CPU per connection from /proc/<pid>/stat. haproxy is set up as in
# run.sh (splice forced). Knobs: ROUNDS=3 DUR=3 (s)
# C=64 NET=127.0.95. Installs haproxy with apt-get when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-3} DUR=${DUR:-3} C=${C:-64} NET=${NET:-127.0.95}
BENCH_NAME=floor
source "$ROOT/bench/lib.sh"

command -v haproxy >/dev/null || apt_install haproxy
(cd "$ROOT" && go build -o "$BIN/" ./bench/l4/loadgen ./bench/l4/origin ./bench/l4/edgeproxy ./bench/l4/epollfloor ./bench/l4/netfloor)

refuse_taken "$NET.1:9000" "$NET.2:9000" "$NET.3:9000" "$NET.4:9000" "$NET.5:9000"
haproxy_tcp_config "$NET.3:9000" "$NET.1:9000" >"$TMP/haproxy.cfg"
"$BIN/origin" -addr "$NET.1:9000" 2>/dev/null &
PIDS+=($!)
"$BIN/edgeproxy" -ip "$NET.2" -port 9000 -origin "$NET.1:9000" 2>/dev/null &
GPID=$!
haproxy -db -f "$TMP/haproxy.cfg" >/dev/null 2>&1 &
HPID=$!
"$BIN/epollfloor" -listen "$NET.4:9000" -origin "$NET.1:9000" &
FPID=$!
"$BIN/netfloor" -listen "$NET.5:9000" -origin "$NET.1:9000" &
NPID=$!
PIDS+=("$GPID" "$HPID" "$FPID" "$NPID")
for t in 1 2 3 4 5; do wait_port "$NET.$t" 9000; done
started

ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; } # user, system clock ticks
hz=$(getconf CLK_TCK)
log "conns, $C workers, ${DUR}s, $ROUNDS rounds; CPU in µs per connection"
for _ in $(seq "$ROUNDS"); do
	for t in haproxy:3:$HPID opengaap:2:$GPID epollfloor:4:$FPID netfloor:5:$NPID; do
		IFS=: read -r name ip pid <<<"$t"
		read -r u1 s1 < <(ticks "$pid")
		res=$("$BIN/loadgen" conns -c "$C" -size 64 -target "$NET.$ip:9000" -duration "${DUR}s" -warmup 0s)
		read -r u2 s2 < <(ticks "$pid")
		jq -r --arg name "$name" --argjson u $((u2 - u1)) --argjson s $((s2 - s1)) --argjson hz "$hz" --argjson dur "$DUR" \
			'(.value * $dur) as $n | "\($name) \(.value|floor) \(.p99_us|floor) \($u / $hz * 1e6 / $n | floor) \($s / $hz * 1e6 / $n | floor) \(.errors)"' <<<"$res"
	done
done | awk '{ printf "%-10s %6d conns/s  p99 %6d µs  user %3d  sys %3d  per core %6d  errors %d\n", $1, $2, $3, $4, $5, 1e6/($4+$5), $6
	n[$1]++; c[$1] += $2; u[$1] += $4; s[$1] += $5 }
	END { for (k in n) printf "mean %-10s %6d conns/s  user %5.1f  sys %5.1f  per core %6d (%.2f× haproxy)\n", k, c[k]/n[k], u[k]/n[k], s[k]/n[k],
		1e6/((u[k]+s[k])/n[k]), ((u["haproxy"]+s["haproxy"])/n["haproxy"]) / ((u[k]+s[k])/n[k]) }'
