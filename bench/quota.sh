#!/usr/bin/env bash
# The quota benchmarks of docs/benchmarks.md, each side by side with its
# reference, in the same run and with the same load generator (mpload):
#
#   check:   CheckQuota, one feature, 32 callers, against the health Check
#            of a bare grpc-go server (emptygrpc), in alternating rounds;
#   reserve: Reserve + Commit pairs, 16 callers, against pgbench's
#            single-row INSERT transactions at 16 clients, alternating.
#
# Meterplane runs as the all-in-one binary with --demo on a scratch
# PostgreSQL database and a leased database of the real Redis; the peak
# RSS of its process is sampled throughout. Usage: bench/quota.sh
# [check|reserve|all]. Settings: BIN (where the binaries go), ROUNDS,
# DURATION, PGHOST/PGPORT/PGUSER, REDIS_HOST/REDIS_PORT, and PROFILE (a
# directory: a CPU profile of Meterplane is taken there during the first
# round of each comparison, check.pprof and reserve.pprof), NOBUILD.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
BIN=${BIN:-$PWD/bin}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
GRPC=127.0.0.1:9290
EMPTY=127.0.0.1:9190
DB=bench_quota
PGB=bench_pgbench
work=$(mktemp -d)
rcli() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"; }

pids=()
lease=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ -n $lease ]]; then rcli -n "$lease" FLUSHDB >/dev/null; rcli DEL "meterplane:test-lease:$lease" >/dev/null; fi
	psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $PGB WITH (FORCE)"
	rm -rf "$work"
}
trap cleanup EXIT

if [[ -z ${NOBUILD:-} ]]; then # NOBUILD=1 runs the binaries in BIN as they are (say, an older meterplane)
	echo "== build"
	go build -o "$BIN/meterplane" ./cmd/meterplane
	go build -o "$BIN/" ./bench/cmd/...
fi

# A Redis database leased as the tests lease theirs (redistest), so that
# neither flushes the other's keys.
for db in $(seq 15 -1 1); do
	if [[ $(rcli SET "meterplane:test-lease:$db" bench NX EX 3600) == OK ]]; then lease=$db; break; fi
done
[[ -n $lease ]] || { echo "no free Redis database (1-15 are all leased)"; exit 1; }
rcli -n "$lease" FLUSHDB >/dev/null
psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"

# The admin key the benchmark's binary stores and its callers send (mpload
# reads MP_API_KEY).
export MP_API_KEY=mp_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable" REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$lease" \
	MP_ADMIN_KEY=$MP_API_KEY MP_GRPC_ADDR=$GRPC MP_HTTP_ADDR=127.0.0.1:9280 MP_LOG_LEVEL=warn MP_PPROF_ADDR=${PROFILE:+127.0.0.1:9291} \
	"$BIN/meterplane" --demo 2>"$work/meterplane.log" &
mp=$!
pids+=("$mp")
"$BIN/emptygrpc" -addr $EMPTY &
pids+=($!)
for _ in $(seq 600); do
	curl -sf -H "Authorization: Bearer $MP_API_KEY" http://127.0.0.1:9280/v1/customers?externalId=aegir-client-reseller | grep -q customerId && break
	kill -0 "$mp" || { cat "$work/meterplane.log"; exit 1; }
	sleep 0.1
done

# The peak resident set of the Meterplane process, sampled every 200 ms.
(
	peak=0
	while kill -0 "$mp" 2>/dev/null; do
		rss=$(awk '/VmRSS/ {print $2}' /proc/$mp/status 2>/dev/null || echo 0)
		((rss > peak)) && peak=$rss && echo "$peak" >"$work/rss"
		sleep 0.2
	done
) &
pids+=($!)

load() { "$BIN/mpload" -d "$DURATION" -warmup "$WARMUP" "$@"; }
# profile NAME takes a CPU profile of the measured part of the next load.
profile() {
	[[ -n ${PROFILE:-} ]] || return 0
	mkdir -p "$PROFILE"
	(sleep "${WARMUP%s}" && curl -sf "http://127.0.0.1:9291/debug/pprof/profile?seconds=${DURATION%s}" >"$PROFILE/$1.pprof") &
}

if [[ $what == check || $what == all ]]; then
	echo "== CheckQuota against the empty call, 32 callers, $ROUNDS rounds of $DURATION"
	for r in $(seq "$ROUNDS"); do
		load -addr $EMPTY -call health -c 32 -label empty-call
		((r == 1)) && profile check
		load -addr $GRPC -call check -c 32 -customer aegir-client-acme -label CheckQuota
	done
fi

if [[ $what == reserve || $what == all ]]; then
	psql -q -d postgres -c "DROP DATABASE IF EXISTS $PGB WITH (FORCE)" -c "CREATE DATABASE $PGB"
	psql -q -d $PGB -c "CREATE TABLE t (id bigserial PRIMARY KEY, v bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())"
	printf '\\set v random(1, 1000000000)\nINSERT INTO t (v) VALUES (:v);\n' >"$work/insert.sql"
	secs=${DURATION%s}
	echo "== Reserve + Commit pairs against single-row INSERT transactions, 16 callers, $ROUNDS rounds of $DURATION"
	for r in $(seq "$ROUNDS"); do
		pgbench -n -c 16 -j 2 -T "$secs" -f "$work/insert.sql" -d $PGB 2>/dev/null |
			awk '/^latency average/ {lat=$4} /^tps/ {printf "pgbench-insert c=16 rate=%.0f/s latency-avg=%sms\n", $3, lat}'
		((r == 1)) && profile reserve
		load -addr $GRPC -call reserve-commit -c 16 -customer aegir-client-reseller -label Reserve+Commit
	done
fi

echo "== Meterplane peak RSS: $(( $(cat "$work/rss" 2>/dev/null || echo 0) / 1024 )) MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
if grep -q . "$work/meterplane.log"; then
	echo "== Meterplane log (warnings and errors):"
	tail -20 "$work/meterplane.log"
fi
