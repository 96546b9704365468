#!/usr/bin/env bash
# The soak benchmark of docs/benchmarks.md: DURATION (default 10m) of steady
# mixed load (bench/cmd/mpsoak: IngestBatch, CheckQuota, Reserve + Commit,
# GetQuotaStatus, GetEntitlements, ListInvoices, and RunBilling every
# minute), first against the all-in-one binary, then against the five
# services as separate processes (their standalone binaries, peers by
# MP_*_ADDR), each time on a scratch PostgreSQL database and a leased
# database of the real Redis, seeded with --demo. The resident set of each
# Meterplane process is sampled every 10 s.
#
# It prints Markdown tables for docs/benchmarks.md: per RPC the calls,
# errors (must be 0), p50 and p99; per process the RSS at minute 2 (at half
# the run when it is shorter than 4 minutes) and at the end. It exits
# non-zero if a call failed. Settings: DURATION, BIN (where the binaries
# go), PGHOST/PGPORT/PGUSER, REDIS_HOST/REDIS_PORT, NOBUILD, and the rates
# of mpsoak through SOAK_FLAGS (see mpsoak -h).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-$PWD/bin}
DURATION=${DURATION:-10m}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
DB=bench_soak
work=$(mktemp -d)
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }

case $DURATION in
*m) secs=$((${DURATION%m} * 60)) ;;
*s) secs=${DURATION%s} ;;
*) echo "DURATION: want minutes or seconds, such as 10m or 90s"; exit 2 ;;
esac
# The early RSS sample: minute 2, or half the run if it is shorter than 4.
early=120
((secs < 240)) && early=$((secs / 2))

pids=()
lease=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ -n $lease ]]; then rcli -n "$lease" FLUSHDB >/dev/null; rcli DEL "meterplane:test-lease:$lease" >/dev/null; fi
	psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${NOBUILD:-} ]]; then
	echo "== build"
	go build -o "$BIN/meterplane" ./cmd/meterplane
	for s in catalog subscription metering quota invoice; do go build -o "$BIN/$s" ./services/$s/cmd/$s; done
	go build -o "$BIN/mpsoak" ./bench/cmd/mpsoak
fi

# A Redis database leased as the tests lease theirs (redistest).
for db in $(seq 15 -1 1); do
	if [[ $(rcli SET "meterplane:test-lease:$db" bench NX EX 7200) == OK ]]; then lease=$db; break; fi
done
[[ -n $lease ]] || { echo "no free Redis database (1-15 are all leased)"; exit 1; }
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable" REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$lease"
export MP_LOG_LEVEL=info MP_LOG_FORMAT=text
# The admin key the binaries store and mpsoak sends, and the credential the
# five processes share.
hex() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
export MP_ADMIN_KEY=mp_soak_$(hex) MP_SERVICE_KEY=mp_service_$(hex)
export MP_API_KEY=$MP_ADMIN_KEY

fresh() {
	rcli -n "$lease" FLUSHDB >/dev/null
	psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" 2>/dev/null
}

# ready URL PID LOG waits until URL answers 200, or fails if PID exits.
ready() {
	for _ in $(seq 1200); do
		curl -sf "$1" >/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "process $2 exited:"; cat "$3"; exit 1; }
		sleep 0.1
	done
	echo "$1 not ready after 120 s"; cat "$3"; exit 1
}

# sample NAME:PID... writes "seconds name rss_kib" every 10 s to $work/rss
# until the first process exits or the sampler is killed.
sample() {
	local t=0
	: >"$work/rss"
	while true; do
		for np in "$@"; do
			rss=$(awk '/VmRSS/ {print $2}' "/proc/${np#*:}/status" 2>/dev/null) || return 0
			echo "$t ${np%%:*} $rss" >>"$work/rss"
		done
		sleep 10
		t=$((t + 10))
	done
}

# soak SETUP FLAGS... runs mpsoak with the RSS sampler and keeps its rows.
soak() {
	local setup=$1
	shift
	sample "${procs[@]}" &
	local sampler=$!
	local rc=0
	"$BIN/mpsoak" -d "$DURATION" -label "$setup" ${SOAK_FLAGS:-} "$@" >>"$work/rpc.md" || rc=$?
	kill "$sampler" 2>/dev/null || true
	awk -v setup="$setup" -v early="$early" '
		{ if (!($2 in first) && $1 >= early) first[$2] = $3; last[$2] = $3; lt[$2] = $1; if (!($2 in order)) { order[$2] = n++; names[n] = $2 } }
		END { for (i = 1; i <= n; i++) { p = names[i]; printf "| %s | %s | %.0f | %.0f | %+.0f |\n", setup, p, first[p]/1024, last[p]/1024, (last[p]-first[p])/1024 } }' \
		"$work/rss" >>"$work/rss.md"
	# The trend: each process's RSS at every whole minute.
	awk -v setup="$setup" '
		$1 % 60 == 0 && $1 > 0 { if (!($2 in row)) names[n++] = $2; row[$2] = row[$2] sprintf(" %.0f", $3/1024) }
		END { for (i = 0; i < n; i++) printf "| %s | %s |%s |\n", setup, names[i], row[names[i]] }' \
		"$work/rss" >>"$work/trend.md"
	echo "$setup: $(wc -l <"$work/rss") RSS samples; mpsoak exit $rc"
	return $rc
}

# stop PID... stops the processes with SIGTERM and waits for them.
stop() {
	kill "$@" 2>/dev/null || true
	for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $DURATION per setup"
failed=0

echo "== all-in-one binary"
fresh
MP_GRPC_ADDR=127.0.0.1:9390 MP_HTTP_ADDR=127.0.0.1:9380 "$BIN/meterplane" --demo 2>"$work/meterplane.log" &
mp=$!
pids+=("$mp")
for _ in $(seq 1200); do
	grep -q "demo data seeded" "$work/meterplane.log" && break
	kill -0 "$mp" || { cat "$work/meterplane.log"; exit 1; }
	sleep 0.1
done
procs=("meterplane:$mp")
soak all-in-one -addr 127.0.0.1:9390 || failed=1
stop "$mp"

echo "== five services as separate processes"
fresh
# The all-in-one binary seeds the demo into the services' schemas, which
# the standalone binaries then open.
MP_GRPC_ADDR=127.0.0.1:9390 MP_HTTP_ADDR=127.0.0.1:9380 "$BIN/meterplane" --demo 2>"$work/seed.log" &
seed=$!
pids+=("$seed")
for _ in $(seq 1200); do
	grep -q "demo data seeded" "$work/seed.log" && break
	kill -0 "$seed" || { cat "$work/seed.log"; exit 1; }
	sleep 0.1
done
stop "$seed"
declare -A grpc=([catalog]=9401 [subscription]=9402 [metering]=9403 [quota]=9404 [invoice]=9405)
peers="MP_CATALOG_ADDR=127.0.0.1:9401 MP_SUBSCRIPTION_ADDR=127.0.0.1:9402 MP_METERING_ADDR=127.0.0.1:9403"
procs=()
for s in catalog subscription metering quota invoice; do
	# Every binary is given every peer; each dials those it uses.
	env $peers MP_GRPC_ADDR=127.0.0.1:${grpc[$s]} MP_HTTP_ADDR=127.0.0.1:$((grpc[$s] + 10)) "$BIN/$s" 2>"$work/$s.log" &
	pids+=($!)
	procs+=("$s:$!")
	ready "http://127.0.0.1:$((grpc[$s] + 10))/readyz" $! "$work/$s.log"
done
soak separate -subscription 127.0.0.1:9402 -metering 127.0.0.1:9403 -quota 127.0.0.1:9404 -invoice 127.0.0.1:9405 || failed=1
for np in "${procs[@]}"; do stop "${np#*:}"; done

echo
echo "| setup | RPC | calls | errors | p50 | p99 |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
cat "$work/rpc.md"
echo
echo "| setup | process | RSS at $((early / 60))m$((early % 60))s (MiB) | RSS at the end (MiB) | change (MiB) |"
echo "| --- | --- | ---: | ---: | ---: |"
cat "$work/rss.md"
echo
echo "| setup | process | RSS at minute 1, 2, 3, … (MiB) |"
echo "| --- | --- | --- |"
cat "$work/trend.md"
echo
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
for f in "$work"/*.log; do
	if grep -qE "level=(WARN|ERROR)" "$f"; then
		echo "== $(basename "$f"): $(grep -cE "level=(WARN|ERROR)" "$f") warnings and errors, the last 10:"
		grep -E "level=(WARN|ERROR)" "$f" | tail -10
	fi
done
exit $failed
