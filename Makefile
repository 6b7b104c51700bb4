# Rapport developer tasks. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# sqlc is pinned: generated code must not change with whoever ran `make generate`.
SQLC_VERSION ?= v1.31.1
SQLC := $(CURDIR)/bin/sqlc

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Extra flags for `go test` in `make test`, e.g. make test TESTFLAGS='-run TestLead -v'.
TESTFLAGS ?=
# Per-package time limit of `make test`; the whole run must stay well under 15 minutes on 2 cores.
TESTTIMEOUT ?= 10m
# Extra flags for `make gobench`, e.g. BENCHFLAGS='-count=5 -benchtime=2s'.
BENCHFLAGS ?=
# How long `make fuzz` runs each Fuzz* target.
FUZZTIME ?= 20s

.PHONY: help generate verify test audit build run bench gobench fuzz sqlc

help:
	@echo 'make generate  regenerate sqlc (db/query) and gqlgen (graph/) code'
	@echo 'make verify    generated code fresh, gofmt, go vet, dependency rules'
	@echo 'make test      go test ./... against PostgreSQL started by the tests (TESTFLAGS=...)'
	@echo 'make audit     the GraphQL-over-HTTP spec audit (npm graphql-http) against a fresh server'
	@echo 'make build     bin/rapport with the version stamped in'
	@echo 'make run       go run ./cmd/rapport serve'
	@echo 'make bench     scale 1: Rapport vs the raw-SQL baseline and PostGraphile; rewrites docs/benchmarks.md (~12 min)'
	@echo 'make gobench   the Go microbenchmarks, go test -bench (BENCHFLAGS=...)'
	@echo 'make fuzz      every Fuzz* target for FUZZTIME (default 20s) each'
	@echo 'make sqlc      build sqlc $(SQLC_VERSION) into ./bin'

# sqlc builds with cgo (its PostgreSQL parser), so it is installed once into ./bin rather than run
# with `go run` or `go tool`. A copy already on PATH or in GOPATH/bin is reused if it is the pinned
# version; otherwise the cold build takes about 100 s.
sqlc:
	@if [[ -x '$(SQLC)' ]] && [[ "$$('$(SQLC)' version 2>/dev/null)" == '$(SQLC_VERSION)' ]]; then \
		exit 0; \
	fi; \
	mkdir -p '$(CURDIR)/bin'; \
	for c in "$$(command -v sqlc 2>/dev/null || true)" "$$(go env GOPATH)/bin/sqlc"; do \
		if [[ -n "$$c" && -x "$$c" ]] && [[ "$$("$$c" version 2>/dev/null)" == '$(SQLC_VERSION)' ]]; then \
			echo "sqlc: copying $$c ($(SQLC_VERSION)) to bin/sqlc"; \
			cp "$$c" '$(SQLC)'; \
			exit 0; \
		fi; \
	done; \
	echo 'sqlc: building sqlc $(SQLC_VERSION) into bin/ (needs cgo and a C compiler; about 100 s cold)'; \
	GOBIN='$(CURDIR)/bin' CGO_ENABLED=1 go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)

generate: sqlc
	'$(SQLC)' generate
	go run ./graph/gqlgen

verify: sqlc
	SQLC='$(SQLC)' scripts/verify.sh

test:
	scripts/ensure-postgres.sh
	go test -count=1 -timeout=$(TESTTIMEOUT) $(TESTFLAGS) ./...

build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/rapport ./cmd/rapport

run:
	go run -ldflags '$(LDFLAGS)' ./cmd/rapport serve

# Load benchmarks at scale 1 against a fresh embedded PostgreSQL, with the raw-SQL baseline and
# PostGraphile v5 (needs npm); the generated section of docs/benchmarks.md is rewritten.
# BENCH_DURATION=10s, BENCH_CONNS=16, KEEP_TMP=1: see scripts/bench.sh.
bench:
	scripts/bench.sh

gobench:
	go test -run='^$$' -bench=. -benchmem $(BENCHFLAGS) ./...

# `go test -fuzz` takes one target per run, so list them and run each for FUZZTIME, with one fuzz
# worker: each worker runs the target's setup, and the GraphQL fuzz target starts a database. The listing
# prints a package's Fuzz* names before its "ok <package>" line.
fuzz:
	@targets=$$(go test -count=1 -list '^Fuzz' ./... | \
		awk '/^Fuzz/ { names[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2, names[i] } /^(ok|FAIL|\?) / { n = 0 }'); \
	if [[ -z "$$targets" ]]; then echo 'fuzz: no Fuzz* targets'; exit 0; fi; \
	while read -r pkg name; do \
		echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$$name\$$" -fuzztime='$(FUZZTIME)' -parallel=1 "$$pkg" </dev/null; \
	done <<< "$$targets"

# The GraphQL-over-HTTP spec audit suite of the npm package graphql-http, against a freshly started
# embedded server; fails when a MUST audit fails. Needs Node and the npm registry.
audit:
	scripts/graphql-http-audit.sh
