#!/usr/bin/env bash
# graphql-http-audit.sh runs the GraphQL-over-HTTP spec audits of the npm package graphql-http
# (tools/audit) against a real Rapport server:
#
#   1. builds cmd/rapport into a temporary directory,
#   2. starts `rapport serve` with its embedded PostgreSQL in that directory (RAPPORT_DATA_DIR) on a
#      port the kernel picks (RAPPORT_ADDR=127.0.0.1:0; the port is read from the "listening" log
#      line), which initialises, migrates and seeds the database,
#   3. gets the demo admin's bearer token with `rapport token`,
#   4. installs tools/audit (npm ci) and runs tools/audit/audit.mjs,
#   5. stops the server with SIGTERM (which stops its PostgreSQL) and removes the directory, on every
#      exit path.
#
# Usage: scripts/graphql-http-audit.sh
# Exit status: the audit's (0: no MUST audit failed; 1: a MUST audit failed), or 1 if the server
# could not be built, started or stopped.
#
# Environment:
#   START_TIMEOUT  seconds to wait for the server to listen (default 180: initdb, migrate and seed
#                  on a busy machine)
#   STOP_TIMEOUT   seconds to wait for it to exit after SIGTERM (default 40)
#   KEEP_TMP=1     keep the temporary directory (server.log, pgdata) for inspection
#
# The binary is built and run directly rather than with `go run`: `go run` does not pass SIGTERM
# on to the program it started, so the server (and its PostgreSQL) would outlive the script.
# Works as root: the embedded PostgreSQL then runs as the postgres OS user (db/pglocal).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

START_TIMEOUT=${START_TIMEOUT:-180}
STOP_TIMEOUT=${STOP_TIMEOUT:-40}

log() { printf 'graphql-http-audit: %s\n' "$*" >&2; }

for tool in go node npm; do
	command -v "$tool" >/dev/null 2>&1 || { log "$tool is not installed"; exit 1; }
done

started=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rapport-audit.XXXXXX")
server_pid=""
server_log="$tmp/server.log"

# stop_server sends SIGTERM and waits for the server to exit; if it does not, kills it and stops a
# PostgreSQL it left behind.
stop_server() {
	[[ -n "$server_pid" ]] || return 0
	local pid=$server_pid
	server_pid=""
	if kill -0 "$pid" 2>/dev/null; then
		log "stopping the server (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + STOP_TIMEOUT))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "the server did not exit ${STOP_TIMEOUT}s after SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	# The server stops its PostgreSQL on SIGTERM; if it could not (killed, crashed), stop it here
	# (SIGINT is PostgreSQL's fast shutdown) so that no postmaster outlives the script.
	local pidfile="$tmp/pgdata/postmaster.pid" pg_pid
	if [[ -f "$pidfile" ]] && pg_pid=$(head -n1 "$pidfile") && [[ "$pg_pid" =~ ^[0-9]+$ ]] &&
		kill -0 "$pg_pid" 2>/dev/null; then
		log "stopping the PostgreSQL the server left running (pid $pg_pid)"
		kill -INT "$pg_pid" 2>/dev/null || true
		local deadline=$((SECONDS + 20))
		while kill -0 "$pg_pid" 2>/dev/null && ((SECONDS < deadline)); do
			sleep 0.2
		done
		kill -0 "$pg_pid" 2>/dev/null && kill -QUIT "$pg_pid" 2>/dev/null || true
	fi
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_server
	if [[ "${KEEP_TMP:-}" == 1 ]]; then
		log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	log "done in $((SECONDS - started))s"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# show_log prints the end of the server's log (on failure).
show_log() {
	log "last lines of the server log:"
	tail -n 40 "$server_log" >&2 || true
}

log "building cmd/rapport"
go build -o "$tmp/rapport" ./cmd/rapport

log "starting the server (embedded PostgreSQL in $tmp)"
env -u DATABASE_URL RAPPORT_ENV=development RAPPORT_DATA_DIR="$tmp" RAPPORT_ADDR=127.0.0.1:0 \
	"$tmp/rapport" serve >"$server_log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + START_TIMEOUT))
addr=""
while [[ -z "$addr" ]]; do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		log "the server exited before listening"
		show_log
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		log "the server did not listen within ${START_TIMEOUT}s (START_TIMEOUT)"
		show_log
		exit 1
	fi
	addr=$(grep -m1 '"msg":"listening"' "$server_log" 2>/dev/null |
		sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' || true)
	[[ -n "$addr" ]] || sleep 0.5
done
url="http://$addr/graphql"
log "listening on $url after $((SECONDS - started))s"

token=$(env -u DATABASE_URL RAPPORT_ENV=development RAPPORT_DATA_DIR="$tmp" \
	"$tmp/rapport" token --org demo --user admin@demo.test 2>"$tmp/token.log" | tail -n1) || true
if [[ -z "$token" ]]; then
	log "could not get a token:"
	cat "$tmp/token.log" >&2 || true
	exit 1
fi

log "installing tools/audit"
npm ci --prefix tools/audit --no-audit --no-fund --loglevel=error >/dev/null

log "auditing $url"
status=0
GRAPHQL_URL="$url" TOKEN="$token" node tools/audit/audit.mjs || status=$?
exit "$status"
