# Shared plumbing of the benchmark scripts (sourced, not run): a temporary
# directory, process cleanup on exit, logging, apt installs and the
# interleaved A/B rounds of the l4 cost scripts.
# Before sourcing, set BENCH_NAME (used in the temporary directory's name)
# and NET, the /24 prefix the script puts its servers on.

# Benchmarks send traffic to loopback only.
if [[ ! ${NET:-} =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
	echo "NET=${NET:-}: the benchmarks run on loopback only (NET=127.x.y)" >&2
	exit 2
fi

TMP=$(mktemp -d "/tmp/opengaap-${BENCH_NAME:-bench}.XXXXXX")
BIN=$TMP/bin
PIDS=()

# running PID: the process exists and has not exited (a child that exited
# stays a zombie until waited for, and kill -0 still finds it).
running() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[[ ${s%% *} != Z ]]
}

# cleanup stops every process in PIDS: SIGTERM, up to 3 s to exit (an
# edgeproxy drains for a second, then writes its profiles), then SIGKILL.
cleanup() {
	local p i left
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for i in $(seq 30); do
		left=0
		for p in "${PIDS[@]}"; do running "$p" && left=1; done
		((left)) || break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }

# refuse_taken IP:PORT...: exits unless nothing listens on each (TCP): a stale
# server would answer instead of the script's own.
refuse_taken() {
	local a
	for a in "$@"; do
		if (exec 3<>"/dev/tcp/${a%:*}/${a##*:}") 2>/dev/null; then
			echo "$a is already in use; stop that process or set NET=127.x.y" >&2
			exit 1
		fi
	done
}

# wait_port IP PORT: waits up to 10 s for something to listen there.
wait_port() {
	local i
	for i in $(seq 200); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "nothing listens on $1:$2" >&2
	return 1
}

# started: exits, showing the logs in $TMP, if a process in PIDS is gone.
started() {
	local p
	for p in "${PIDS[@]}"; do
		running "$p" || { echo "server $p died:" >&2; tail -n 20 "$TMP"/*.log 2>/dev/null >&2; exit 1; }
	done
}

# apt_install installs the named Debian packages, updating the package
# lists only if the first attempt fails.
apt_install() {
	(($#)) || return 0
	log "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "$@" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "$@" >/dev/null; }
}

# haproxy_tcp_config FRONTEND BACKEND [SPLICE]: the layer-4 haproxy the
# benchmarks compare with (one thread per core, TCP mode, splice forced
# unless SPLICE is auto or off), accepting on FRONTEND, forwarding to
# BACKEND (ip:port each).
haproxy_tcp_config() {
	local splice
	case ${3:-forced} in
	forced) splice=$'\toption splice-request\n\toption splice-response' ;;
	auto) splice=$'\toption splice-auto' ;;
	*) splice='' ;;
	esac
	cat <<EOF2
global
	nbthread $(nproc)
	maxconn 5000
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
$splice
frontend fe
	bind $1
	default_backend be
backend be
	server origin $2
EOF2
}

# ab_rounds SUB A B UNIT LABEL: an interleaved A/B of two proxies on
# $NET.A:9000 and $NET.B:9000, ROUNDS alternating `loadgen SUB` runs of
# DUR seconds with C connections each (so drift on a noisy box hits both
# alike); prints every pair and the means, with B ÷ A named LABEL.
ab_rounds() {
	local sub=$1 a=$2 b=$3 unit=$4 label=$5 t
	for _ in $(seq "$ROUNDS"); do
		for t in "$a" "$b"; do
			echo "$t $("$BIN/loadgen" "$sub" -c "$C" -target "$NET.$t:9000" -duration "${DUR}s" | jq -r '.value|floor')"
		done
	done | awk -v a="$a" -v b="$b" -v unit="$unit" -v label="$label" '
		{ s[$1] += $2; n[$1]++; printf "%s%s", $2, ($1 == b ? "\n" : " → ") }
		END {
			if (!s[a] || !s[b]) { print "no result from one side" > "/dev/stderr"; exit 1 }
			printf "mean %d → %d %s: %s %.2f\n", s[a]/n[a], s[b]/n[b], unit, label, s[b]/s[a]
		}'
}
