#!/usr/bin/env bash
# pg.sh makes a throwaway PostgreSQL server available for the store tests.
#
#   scripts/pg.sh [start]   install (Debian apt) if needed, init, start; print the URL
#   scripts/pg.sh stop      stop the server (the data directory stays for the next start)
#
# The last line on stdout is the admin URL, for example
#   export OPENGAAP_TEST_POSTGRES="$(scripts/pg.sh | tail -n1)"
# Running start again reuses a running server. Everything else goes to stderr.
#
# Environment: PGTEST_DIR (default /tmp/opengaap-pg; must be reachable by the
# postgres user when run as root) and PGTEST_PORT (default 25432: below the
# kernel's ephemeral port range, so no client socket can hold it; the next free
# port is taken when it is busy, and remembered in $PGTEST_DIR/port).
#
# The cluster trusts every local connection and runs with fsync=off: it is for
# tests on this machine only, never for data anyone keeps.
set -euo pipefail

dir=${PGTEST_DIR:-/tmp/opengaap-pg}
data=$dir/data
log() { echo "pg.sh: $*" >&2; }

# bindir prints the directory holding initdb, pg_ctl and postgres, if any.
bindir() {
	local d
	for d in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			echo "$d"
			return
		fi
	done
}

install_server() {
	[[ -n $(bindir) ]] && return
	if [[ $(id -u) != 0 ]]; then
		log "PostgreSQL server binaries missing; run as root to apt-get install postgresql"
		exit 1
	fi
	log "installing postgresql with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends postgresql >&2
	[[ -n $(bindir) ]] || { log "no server binaries after install"; exit 1; }
}

# as_owner runs a command as the cluster owner: postgres refuses to run as root.
as_owner() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [[ -f $data/PG_VERSION ]] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }

url() { echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"; }

init_cluster() {
	[[ -f $data/PG_VERSION ]] && return
	log "initializing a cluster in $data"
	mkdir -p "$dir"
	if [[ $(id -u) == 0 ]]; then
		chown postgres: "$dir"
		chmod 700 "$dir"
	fi
	as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >&2
}

start() {
	install_server
	bin=$(bindir)
	if running; then
		log "reusing the server in $data"
		url
		return
	fi
	init_cluster
	local port=${PGTEST_PORT:-25432} tries=0
	while port_busy "$port"; do
		((++tries < 50)) || { log "no free port near ${PGTEST_PORT:-25432}"; exit 1; }
		port=$((port + 1))
	done
	as_owner sh -c "echo $port > '$dir/port'"
	log "starting on 127.0.0.1:$port and a socket in $dir"
	as_owner "$bin/pg_ctl" start -D "$data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" >&2 ||
		{ tail -n 20 "$dir/server.log" >&2; exit 1; }
	"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 || { log "server not ready"; exit 1; }
	url
}

stop() {
	bin=$(bindir)
	if [[ -n $bin ]] && running; then
		as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w >&2
	else
		log "no server running in $data"
	fi
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 [start|stop]" >&2
	exit 2
	;;
esac
