#!/usr/bin/env bash
# bench/l7/run.sh — layer-7 data plane benchmark: direct (to the origin) vs
# opengaap (the internal/edge engine, standalone) vs nginx vs haproxy vs
# caddy, all proxying to the same small Go origin, loopback only.
#
#   sudo bench/l7/run.sh            # full run, ~3 minutes
#   DUR=2 ROUNDS=1 bench/l7/run.sh  # quick look, ~1 minute
#
# Tests (wrk 4.1, 2 threads; every target gets the same command):
#   http    HTTP/1.1 keep-alive, 64 connections, GET / (64-byte body)
#   https   the same over TLS (wrk negotiates TLS 1.3, no ALPN → HTTP/1.1)
#   idle    memory per idle connection, measured first, while each proxy
#           has served nothing yet: the growth of its resident memory for
#           1000 HTTP keep-alive connections and then 1000 HTTPS ones, each
#           after one GET (bench/l4/loadgen idle)
#   tlsnew  one new TLS connection per request: 32 connections sending
#           "Connection: close" (set by a wrk Lua script: Debian's wrk 4.1
#           drops -H headers), so every request pays a TCP connect and a
#           TLS handshake. wrk keeps the session across reconnects
#           (SSL_clear), so these are TLS 1.3 resumptions: PSK + X25519 key
#           exchange, no certificate signature (checked against a Go
#           server: 8 full handshakes, 2249 resumed; h2load --h1 resumes
#           too, and has no percentiles nor a duration mode that ends with
#           Connection: close, hence wrk). wrk's latency excludes connect
#           and handshake; req/s includes them
#
# Environment:
#   DUR=4         measured seconds per test, target and round (bounded 1..30)
#   ROUNDS=2      passes over every test and target, interleaved, so that a
#                 noisy neighbour hurts every target alike; the table gives
#                 the mean of the rounds (req/s from total requests and time)
#   WARM=1        unmeasured warm-up seconds before each measurement
#   CONNS=64      wrk connections for http/https (tlsnew uses CONNS/2)
#   NET=127.0.94  /24 prefix: .1 origin, .2 opengaap, .3 nginx, .4 haproxy, .5 caddy,
#                 .6 floor
#   KEY=ecdsa     certificate key for every TLS server: ecdsa (P-256) | rsa (2048)
#   TARGETS="direct opengaap nginx haproxy caddy"   subset/order to run; also
#                 floor (bench/l7/floor: the least a Go proxy does per
#                 request; http only, skipped in the other tests)
#   TESTS="idle http https tlsnew"                  subset to run
#   PROFILE=1     CPU profile of the edgeproxy for the whole run → $OUT
#   ALLOCS=1      allocation profile at the end → $OUT (the allocation count: $OUT/edgeproxy.log)
#   OUT=/tmp/opengaap-l7-last  results.tsv, report.md, wrk outputs, profile
#
# Installs wrk, nginx, haproxy, caddy and jq with apt-get when
# missing. Every process it starts is killed on exit; configs live in a temp
# dir; every socket is on 127.0.0.0/8.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DUR=${DUR:-4}
ROUNDS=${ROUNDS:-2}
((DUR < 1)) && DUR=1
((DUR > 30)) && DUR=30
WARM=${WARM:-1}
CONNS=${CONNS:-64}
NET=${NET:-127.0.94}
KEY=${KEY:-ecdsa}
TARGETS=(${TARGETS:-direct opengaap nginx haproxy caddy})
TESTS=(${TESTS:-idle http https tlsnew})
OUT=${OUT:-/tmp/opengaap-l7-last}
HP=8080 SP=8443
BENCH_NAME=l7
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
NCPU=$(nproc)
TCK=$(getconf CLK_TCK)

# --- dependencies -----------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v caddy >/dev/null || missing+=(caddy)
command -v jq >/dev/null || missing+=(jq)
apt_install "${missing[@]}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building origin, edgeproxy"
(cd "$ROOT" && go build -o "$BIN/" ./bench/l7/origin ./bench/l7/edgeproxy ./bench/l7/floor ./bench/l4/loadgen)
mkdir -p "$OUT"
rm -f "$OUT"/results.tsv "$OUT"/idle.jsonl "$OUT"/wrk-*.txt "$OUT"/edgeproxy.*

# --- servers ----------------------------------------------------------------
O=$NET.1 G=$NET.2 N=$NET.3 H=$NET.4 C=$NET.5 F=$NET.6
declare -A ADDR=([direct]=$O [opengaap]=$G [nginx]=$N [haproxy]=$H [caddy]=$C [floor]=$F)

for ip in "$O" "$G" "$N" "$H" "$C" "$F"; do
	refuse_taken "$ip:$HP" "$ip:$SP"
done

# opengaap first: it generates the certificate every TLS server uses.
prof=()
[[ -n ${PROFILE:-} ]] && prof=(-cpuprofile "$OUT/edgeproxy.cpu.pprof")
[[ -n ${ALLOCS:-} ]] && prof+=(-allocprofile "$OUT/edgeproxy.allocs.pprof")
"$BIN/edgeproxy" -ip "$G" -http-port $HP -https-port $SP -origin "$O:$HP" -certdir "$TMP" -key "$KEY" \
	"${prof[@]}" 2>"$OUT/edgeproxy.log" &
GPID=$!
PIDS+=("$GPID")
wait_port "$G" $SP
cat "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/haproxy.pem"

"$BIN/origin" -addr "$O:$HP" -tls-addr "$O:$SP" -cert "$TMP/cert.pem" -key "$TMP/key.pem" 2>"$TMP/origin.log" &
OPID=$!
PIDS+=("$OPID")

# nginx: one worker per core, upstream keep-alive (off by default in nginx,
# which would make it open a connection per request), the headers opengaap
# sets, no access log (opengaap has none).
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<EOF
worker_processes $NCPU;
worker_rlimit_nofile 16384;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
daemon off;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	keepalive_requests 1000000;
	keepalive_timeout 75s;
	upstream origin {
		server $O:$HP;
		keepalive 256;
		keepalive_requests 1000000;
	}
	server {
		listen $N:$HP backlog=4096;
		listen $N:$SP ssl backlog=4096;
		ssl_certificate $TMP/cert.pem;
		ssl_certificate_key $TMP/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			proxy_pass http://origin;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Real-IP \$remote_addr;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto \$scheme;
		}
	}
}
EOF
nginx -p "$TMP/nginx" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" &
NPID=$!
PIDS+=("$NPID")

# haproxy: one process, one thread per core, keep-alive both sides (its
# default), the same headers.
cat >"$TMP/haproxy.cfg" <<EOF
global
	nbthread $NCPU
	maxconn 8000
	ssl-server-verify none
	pidfile $TMP/haproxy.pid
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 75s
	option forwardfor
frontend fe
	bind $H:$HP
	bind $H:$SP ssl crt $TMP/haproxy.pem alpn http/1.1
	http-request set-header X-Real-IP %[src]
	http-request set-header X-Forwarded-Proto https if { ssl_fc }
	http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
	default_backend be
backend be
	server origin $O:$HP maxconn 0
EOF
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")

# caddy: a Go program like opengaap (GOMAXPROCS = cores), reverse_proxy
# keeps origin connections alive and sets X-Forwarded-* itself; no admin
# endpoint, no automatic HTTPS, no access log, state in the temp dir. A
# TLS client that sends no SNI (Go's, for an IP address: the idle test)
# gets the site's certificate too (default_sni).
cat >"$TMP/Caddyfile" <<EOF
{
	admin off
	auto_https off
	default_sni $C
	storage file_system $TMP/caddy
}
http://$C:$HP {
	bind $C
	reverse_proxy $O:$HP
}
https://$C:$SP {
	bind $C
	tls $TMP/cert.pem $TMP/key.pem
	reverse_proxy $O:$HP {
		header_up X-Real-IP {remote_host}
	}
}
EOF
HOME=$TMP XDG_DATA_HOME=$TMP XDG_CONFIG_HOME=$TMP caddy run --adapter caddyfile --config "$TMP/Caddyfile" \
	>"$TMP/caddy.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")

"$BIN/floor" -listen "$F:$HP" -origin "$O:$HP" 2>"$TMP/floor.log" &
FPID=$!
PIDS+=("$FPID")
wait_port "$F" $HP

for a in "$O" "$G" "$N" "$H" "$C"; do
	wait_port "$a" $HP
	wait_port "$a" $SP
done
sleep 0.3
started
NWORKERS=$(pgrep -P "$NPID" | paste -sd' ' -)
[[ -n $NWORKERS ]] || { echo "nginx has no workers" >&2; cat "$TMP/nginx-error.log" >&2; exit 1; }
declare -A PIDOF=([direct]="" [opengaap]=$GPID [nginx]="$NPID $NWORKERS" [haproxy]=$HPID [caddy]=$CPID [floor]=$FPID)

{
	echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "host: $NCPU cores, $(uname -r), $(go version | cut -d' ' -f3), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
	echo "nginx $(nginx -v 2>&1 | cut -d/ -f2): worker_processes $NCPU, upstream keepalive 256, access_log off"
	echo "haproxy $(haproxy -v | head -1 | cut -d' ' -f3): nbthread $NCPU, mode http, option forwardfor"
	echo "caddy $(caddy version | cut -d' ' -f1): reverse_proxy defaults, GOMAXPROCS $NCPU"
	echo "opengaap: bench/l7/edgeproxy, GOMAXPROCS $NCPU; cert $KEY; origin body 64 B"
	echo "pids: origin $OPID, opengaap $GPID, nginx $NPID+[$NWORKERS], haproxy $HPID, caddy $CPID, floor $FPID"
} | tee "$OUT/host.txt" >&2

# --- measurement ------------------------------------------------------------
# cpu_ticks PIDS...: user+sys clock ticks of the processes (all threads).
cpu_ticks() {
	local p t=0 f
	for p in "$@"; do
		read -ra f <"/proc/$p/stat" || continue
		# Fields 14 and 15 (utime, stime): no comm here has a space in it.
		t=$((t + f[13] + f[14]))
	done
	echo $t
}

# to_us VALUE: a wrk duration (12.3us, 4.5ms, 1.2s) in µs.
to_us() {
	awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000; else if (u == "m") n *= 60000000
		printf "%.0f", n }'
}

# wrk_args TEST TARGET
wrk_args() {
	local a=${ADDR[$2]}
	case $1 in
	http) echo "-t2 -c$CONNS http://$a:$HP/" ;;
	https) echo "-t2 -c$CONNS https://$a:$SP/" ;;
	tlsnew) echo "-t2 -c$((CONNS / 2)) -s $TMP/close.lua https://$a:$SP/" ;;
	esac
}

# measure TEST TARGET: one wrk run; appends a line to results.tsv.
measure() {
	local test=$1 t=$2 args f=$OUT/wrk-$1-$2-$round.txt c0 c1 w0 w1
	local rps p50 p99 errs wall cpu ocpu
	read -ra args <<<"$(wrk_args "$test" "$t")"
	((WARM > 0)) && wrk -d"${WARM}s" "${args[@]}" >/dev/null 2>&1
	c0=$(cpu_ticks ${PIDOF[$t]}) o0=$(cpu_ticks "$OPID") w0=$(date +%s%N)
	wrk -d"${DUR}s" --latency "${args[@]}" >"$f" 2>&1
	w1=$(date +%s%N) c1=$(cpu_ticks ${PIDOF[$t]}) o1=$(cpu_ticks "$OPID")
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f")
	p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$f")")
	p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$f")")
	errs=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$f")
	wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
	ocpu=$(awk -v a="$o0" -v b="$o1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
	[[ $t == direct ]] && cpu=-
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$test" "$t" "${rps:-0}" "$p50" "$p99" "$errs" "$wall" "$cpu" "$ocpu" |
		tee -a "$OUT/results.tsv" |
		awk -F'\t' -v r="$round" '{ printf "  r%s %-7s %-9s %8d req/s  p50 %6dus  p99 %6dus  errors %d  proxy CPU %ss  origin CPU %ss\n", r, $1, $2, $3, $4, $5, $6, $8, $9 }' >&2
}

# idle TARGET: memory per idle HTTP and HTTPS connection (appended to
# idle.jsonl).
idle() {
	local t=$1 pids
	pids=$(tr ' ' , <<<"${PIDOF[$t]}")
	"$BIN/loadgen" idle -mode http,https -c 1000 -target "${ADDR[$t]}:$HP,${ADDR[$t]}:$SP" -host "${ADDR[$t]}" \
		-pids "$pids" -duration 3s -label "$t" | tee -a "$OUT/idle.jsonl" |
		jq -r '"  \(.test) \(.label): \(.value / 1024 | floor) KiB per connection (\(.ops) held, \(.errors) failed)"' >&2
}
if [[ " ${TESTS[*]} " == *" idle "* ]]; then
	log "idle connections (1000 HTTP, then 1000 HTTPS, per proxy)"
	for t in "${TARGETS[@]}"; do
		[[ $t == direct || $t == floor ]] && continue
		idle "$t"
	done
fi

echo 'wrk.headers["Connection"] = "close"' >"$TMP/close.lua"
log "tests (${ROUNDS} rounds × (${WARM}s warm-up + ${DUR}s) per test and target)"
for round in $(seq "$ROUNDS"); do
	for test in "${TESTS[@]}"; do
		[[ $test == idle ]] && continue # Measured above.
		for t in "${TARGETS[@]}"; do
			[[ $t == floor && $test != http ]] && continue
			measure "$test" "$t"
		done
	done
done

# --- report -----------------------------------------------------------------
report() {
	awk -F'\t' '
	BEGIN {
		name["http"] = "HTTP keep-alive ('"$CONNS"' conns)"
		name["https"] = "HTTPS keep-alive ('"$CONNS"' conns)"
		name["tlsnew"] = "HTTPS new conn per request, TLS resumed ('"$((CONNS / 2))"' conns)"
		print "| test | target | req/s | × nginx | p50 µs | p99 µs | p99 ÷ nginx | errors | proxy CPU s | proxy cores | req/s per proxy core | per core × nginx |"
		print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	}
	{ k = $1 SUBSEP $2; if (!(k in rounds)) { order[++n] = k; test[k] = $1; tg[k] = $2 }
	  rounds[k]++; reqs[k] += $3 * $7; wall[k] += $7; p50[k] += $4; p99[k] += $5; err[k] += $6
	  if ($8 == "-") cpu[k] = "-"; else cpu[k] += $8 }
	END {
		for (i = 1; i <= n; i++) { k = order[i]; rps[k] = reqs[k] / wall[k]; p50[k] /= rounds[k]; p99[k] /= rounds[k]
			if (cpu[k] != "-" && cpu[k] > 0) pc[k] = rps[k] / (cpu[k] / wall[k]) }
		for (i = 1; i <= n; i++) {
			k = order[i]; nk = test[k] SUBSEP "nginx"
			x = (rps[nk] > 0) ? sprintf("%.2f×", rps[k] / rps[nk]) : "—"
			y = (p99[nk] > 0) ? sprintf("%.2f", p99[k] / p99[nk]) : "—"
			if (cpu[k] == "-") { c = "—"; cores = "—"; pcs = "—"; z = "—" } else {
				c = sprintf("%.2f", cpu[k]); cores = sprintf("%.2f", cpu[k] / wall[k]); pcs = sprintf("%.0f", pc[k])
				z = (pc[nk] > 0) ? sprintf("%.2f×", pc[k] / pc[nk]) : "—"
			}
			if (p99[k] == 0) { p99s = "—"; y = "—" } else p99s = sprintf("%.0f", p99[k])
			printf "| %s | %s | %.0f | %s | %.0f | %s | %s | %d | %s | %s | %s | %s |\n", name[test[k]], tg[k], rps[k], x, p50[k], p99s, y, err[k], c, cores, pcs, z
		}
	}' "$OUT/results.tsv"
}
{
	echo "Command: bench/l7/run.sh (DUR=$DUR, ROUNDS=$ROUNDS, WARM=$WARM, CONNS=$CONNS, KEY=$KEY)"
	sed 's/^/    /' "$OUT/host.txt"
	if [[ -s $OUT/results.tsv ]]; then
		echo
		report
	fi
	if [[ -s $OUT/idle.jsonl ]]; then
		echo
		echo "| idle connection | target | KiB per connection | × nginx |"
		echo "|---|---|---:|---:|"
		jq -rs '(map(select(.label == "nginx") | {(.test): .value}) | add) as $n | .[] |
			"| \(.test | ltrimstr("idle-")) | \(.label) | \(.value / 1024 * 10 | round / 10) | \(if $n[.test] > 0 then "\(.value / $n[.test] * 100 | round / 100)×" else "—" end) |"' "$OUT/idle.jsonl"
	fi
} | tee "$OUT/report.md"
log "results kept in $OUT"
