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
