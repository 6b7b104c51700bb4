#!/usr/bin/env bash
# ensure-postgres.sh makes sure the tests can start their own PostgreSQL: it finds PostgreSQL 15+
# server binaries (initdb, pg_ctl, postgres) in the same order as db/dbtest and db/pglocal
# ($RAPPORT_PG_BINDIR, PATH, pg_config --bindir, /usr/lib/postgresql/*/bin, newest first), and when
# there are none and we are root on Debian/Ubuntu, installs them with apt-get. Tests never use a
# system-wide server, so a cluster the package starts is stopped again.
#
# Exit 0: binaries found (or installed), or TEST_DATABASE_URL is set. Exit 1: one line saying what
# to install.
set -euo pipefail

min_major=15

if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
	echo "ensure-postgres: TEST_DATABASE_URL is set; not looking for PostgreSQL binaries"
	exit 0
fi

# candidates prints directories that may hold the server binaries, in search order.
candidates() {
	if [[ -n "${RAPPORT_PG_BINDIR:-}" ]]; then
		echo "$RAPPORT_PG_BINDIR"
	fi
	local p
	if p=$(command -v initdb 2>/dev/null); then
		dirname "$p"
	fi
	if command -v pg_config >/dev/null 2>&1; then
		pg_config --bindir 2>/dev/null || true
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		echo "$d"
	done
}

# major prints the major version of the postgres binary in dir $1 ("postgres (PostgreSQL) 15.14").
major() {
	"$1/postgres" --version 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+/) { sub(/[^0-9].*/, "", $i); print $i; exit } }' || true
}

# find_bindir prints the first directory with all three binaries at version >= min_major.
find_bindir() {
	local d v
	while IFS= read -r d; do
		[[ -n "$d" ]] || continue
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			v=$(major "$d")
			if [[ -n "$v" && "$v" -ge "$min_major" ]]; then
				echo "$d"
				return 0
			fi
			echo "ensure-postgres: ignoring $d: PostgreSQL ${v:-of unknown version}, need $min_major+" >&2
		fi
	done < <(candidates)
	return 1
}

if dir=$(find_bindir); then
	echo "ensure-postgres: using PostgreSQL $(major "$dir") server binaries in $dir"
	exit 0
fi

if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
	echo "ensure-postgres: no PostgreSQL $min_major+ server binaries found; installing the postgresql package with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends postgresql
	# The Debian package creates and starts a "main" cluster; Rapport's tests start their own, so
	# stop any cluster the package started. Failures here are harmless (no cluster, no init system).
	if command -v pg_lsclusters >/dev/null 2>&1; then
		while read -r ver name _ status _; do
			[[ "$ver" =~ ^[0-9]+$ && "$status" == online* ]] || continue
			echo "ensure-postgres: stopping the $ver/$name cluster the package started"
			pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop >/dev/null 2>&1 || true
		done < <(pg_lsclusters --no-header 2>/dev/null || true)
	fi
	if dir=$(find_bindir); then
		echo "ensure-postgres: installed; using PostgreSQL $(major "$dir") server binaries in $dir"
		exit 0
	fi
	echo "ensure-postgres: apt-get installed postgresql but no PostgreSQL $min_major+ server binaries were found; install PostgreSQL $min_major+ (e.g. from apt.postgresql.org) and set RAPPORT_PG_BINDIR, or set TEST_DATABASE_URL" >&2
	exit 1
fi

echo "ensure-postgres: PostgreSQL $min_major+ server binaries (initdb, pg_ctl, postgres) not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@16) and, if they are not on PATH, set RAPPORT_PG_BINDIR to their directory; or set TEST_DATABASE_URL to use an existing server" >&2
exit 1
