# Shared plumbing of the benchmark scripts (sourced, not run): a temporary
# directory, process cleanup on exit, logging, apt installs and the
# interleaved A/B rounds of the l4 cost scripts.
# Before sourcing, set BENCH_NAME (used in the temporary directory's name).

TMP=$(mktemp -d "/tmp/opengaap-${BENCH_NAME:-bench}.XXXXXX")
BIN=$TMP/bin
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '==> %s\n' "$*" >&2; }

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
		END { printf "mean %d → %d %s: %s %.2f\n", s[a]/n[a], s[b]/n[b], unit, label, s[b]/s[a] }'
}
