#!/usr/bin/env bash
# Interleaved A/B of two builds of bench/l7/edgeproxy: one origin, both
# proxies up at once, and ROUNDS alternating wrk runs against each, so
# drift on a noisy box hits both alike. Prints every run (req/s, p99, proxy
# CPU µs per request) and the means.
#
#   bench/l7/ab.sh A B      # A, B: edgeproxy binaries (go build -o ... ./bench/l7/edgeproxy)
#
# Knobs: ROUNDS=5 DUR=4 (s) CONNS=64 SCHEME=http|https NET=127.0.96
# (.1 origin, .2 A, .3 B). Needs wrk (apt-installed when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
(($# == 2)) || { echo "usage: $0 edgeproxy-A edgeproxy-B" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2")
ROUNDS=${ROUNDS:-5} DUR=${DUR:-4} CONNS=${CONNS:-64} SCHEME=${SCHEME:-http} NET=${NET:-127.0.96}
BENCH_NAME=l7-ab
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
command -v wrk >/dev/null || apt_install wrk

(cd "$ROOT" && go build -o "$BIN/" ./bench/l7/origin)
for t in 1 2 3; do refuse_taken "$NET.$t:8080" "$NET.$t:8443"; done
"$A" -ip "$NET.2" -http-port 8080 -https-port 8443 -origin "$NET.1:8080" -certdir "$TMP" 2>"$TMP/a.log" &
PA=$!
PIDS+=("$PA")
wait_port "$NET.2" 8443 # A has written the certificate the origin serves.
"$B" -ip "$NET.3" -http-port 8080 -https-port 8443 -origin "$NET.1:8080" 2>"$TMP/b.log" &
PB=$!
PIDS+=("$PB")
"$BIN/origin" -addr "$NET.1:8080" -tls-addr "$NET.1:8443" -cert "$TMP/cert.pem" -key "$TMP/key.pem" 2>"$TMP/origin.log" &
PIDS+=($!)
for t in 1 2 3; do wait_port "$NET.$t" 8080 && wait_port "$NET.$t" 8443; done
started
port=8080
[[ $SCHEME == https ]] && port=8443

# cpu PID: user+system clock ticks of the process.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

for r in $(seq "$ROUNDS"); do
	for t in A B; do
		if [[ $t == A ]]; then ip=$NET.2 p=$PA; else ip=$NET.3 p=$PB; fi
		c0=$(cpu "$p")
		out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" --latency "$SCHEME://$ip:$port/")
		c1=$(cpu "$p")
		rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
		p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
		awk -v r="$r" -v t="$t" -v rps="$rps" -v p99="$p99" -v c="$((c1 - c0))" -v hz="$hz" -v d="$DUR" \
			'BEGIN { printf "%s %s rps=%.0f p99=%s cpu_us_per_req=%.2f\n", r, t, rps, p99, c / hz * 1e6 / (rps * d) }'
	done
done | tee "$TMP/runs.txt"
awk '{ split($3, a, "="); split($5, c, "="); s[$2] += a[2]; u[$2] += c[2]; n[$2]++ }
	END { for (k in s) printf "%s: mean %.0f req/s, %.2f µs of proxy CPU per request\n", k, s[k] / n[k], u[k] / n[k] }' "$TMP/runs.txt" | sort
