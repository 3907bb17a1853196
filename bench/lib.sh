# Shared plumbing of the benchmark scripts (sourced, not run): a temporary
# directory, process cleanup on exit, logging and apt installs.
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
