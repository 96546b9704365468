package metering_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

// The ingestion benchmarks' workload: batches of benchBatch events of the
// SUM meter "bandwidth", spread over benchCustomers customers (created
// through the subscription API), benchSubjects subjects and the last few
// hours.
const (
	benchBatch     = 1000
	benchCustomers = 100
	benchSubjects  = 10
	benchMeter     = "bandwidth"
	benchSource    = "collector-1"
)

// benchQuantities are the events' quantities, as collectors send them.
var benchQuantities = []string{"1.25", "0.5", "2", "10.125", "3.75", "0.001", "7"}

// benchConcurrency are the numbers of concurrent clients the ingestion
// benchmarks try (the machine behind docs/benchmarks.md has 2 cores, and
// PostgreSQL runs on it too).
var benchConcurrency = []int{1, 2, 4}

// BenchmarkIngestBatch calls IngestBatch over gRPC with fresh batches of
// 1,000 events from 1, 2 and 4 concurrent clients and reports events/s.
// Every event must be ACCEPTED. Run it with: make bench-metering-ingest
func BenchmarkIngestBatch(b *testing.B) {
	for _, clients := range benchConcurrency {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchIngest(b, startBench(b, config.Config{DatabaseURL: storagetest.EmptyPostgres(b)}), clients)
		})
	}
}

// BenchmarkIngestBatchSQLite is BenchmarkIngestBatch on the embedded
// default, a SQLite file, with one client: a laptop user's first import.
// Run it with: make bench-metering-ingest-sqlite
func BenchmarkIngestBatchSQLite(b *testing.B) {
	b.Run("clients=1", func(b *testing.B) {
		benchIngest(b, startBench(b, config.Config{DataDir: b.TempDir()}), 1)
	})
}

// benchIngest drives IngestBatch from clients concurrent clients.
func benchIngest(b *testing.B, e *bench, clients int) {
	e.createCustomers(b, benchCustomers)
	e.warmUp(b)
	var seq atomic.Int64
	prefix := randomHex(4)
	drive(b, clients, func(worker int) (func() error, error) {
		rng := mathrand.New(mathrand.NewPCG(uint64(worker), 1))
		return func() error {
			req := &meteringv1.IngestBatchRequest{Events: make([]*meteringv1.UsageEvent, benchBatch)}
			from, spread := eventWindow(time.Now())
			for j := range req.Events {
				r := e.randomRow(rng, from, spread)
				req.Events[j] = &meteringv1.UsageEvent{CustomerId: r.customer, MeterKey: benchMeter, Quantity: r.quantity,
					Time: timestamppb.New(r.time), IdempotencyKey: fmt.Sprintf("%s-%d", prefix, seq.Add(1)),
					Subject: r.subject, Source: benchSource}
			}
			res, err := e.client.IngestBatch(b.Context(), req)
			if err != nil {
				return fmt.Errorf("IngestBatch: %w", err)
			}
			if res.GetAccepted() != benchBatch || len(res.GetResults()) != benchBatch {
				for _, r := range res.GetResults() {
					if r.GetStatus() != meteringv1.EventStatus_EVENT_STATUS_ACCEPTED {
						return fmt.Errorf("IngestBatch: %d of %d accepted; first other result: %v", res.GetAccepted(), benchBatch, r)
					}
				}
				return fmt.Errorf("IngestBatch: %d of %d accepted, %d results", res.GetAccepted(), benchBatch, len(res.GetResults()))
			}
			for _, r := range res.GetResults() {
				if r.GetStatus() != meteringv1.EventStatus_EVENT_STATUS_ACCEPTED {
					return fmt.Errorf("IngestBatch: event not accepted: %v", r)
				}
			}
			return nil
		}, nil
	})
	// Folds add the batches' aggregates to the rollups, and the
	// outbox relay publishes usage.recorded to Redis, behind
	// ingestion; report what they had not done yet.
	if e.schemaURL == "" {
		return
	}
	var pending, backlog int64
	e.queryRow(b, "SELECT count(*) FROM pending_rollups", &pending)
	e.queryRow(b, "SELECT count(*) FROM outbox", &backlog)
	b.ReportMetric(float64(pending), "pending-batches")
	b.ReportMetric(float64(backlog), "outbox-backlog")
}

// BenchmarkCopyEvents writes the rows IngestBatch would write to the events
// table, in batches of 1,000, straight into the same table of the same
// schema with PostgreSQL COPY: the ceiling of storing the events alone.
// Run it with: make bench-metering-ingest
func BenchmarkCopyEvents(b *testing.B) {
	benchCopy(b, false)
}

// BenchmarkCopyExactlyOnce is BenchmarkCopyEvents plus the events' keys:
// each batch of 1,000 is one transaction that COPYs the keys into
// event_keys (its primary key is what makes ingestion exactly once) and
// the events into events. It is the reference of IngestBatch's goal: the
// least PostgreSQL must do to store events exactly once, with nothing
// checked. Run it with: make bench-metering-ingest
func BenchmarkCopyExactlyOnce(b *testing.B) {
	benchCopy(b, true)
}

// benchCopy runs the COPY benchmarks: with keys, each batch also COPYs its
// keys into event_keys, in the same transaction as its events.
func benchCopy(b *testing.B, keys bool) {
	eventColumns := []string{"event_id", "customer_id", "meter_key", "quantity", "time", "idempotency_key", "subject", "delta",
		"source", "properties", "received_time"}
	keyColumns := []string{"customer_id", "idempotency_key", "event_id", "payload_hash"}
	for _, clients := range benchConcurrency {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			e := startBench(b, config.Config{DatabaseURL: storagetest.EmptyPostgres(b)})
			e.createCustomers(b, benchCustomers)
			e.warmUp(b) // creates this month's partition, as ingestion would
			var seq atomic.Int64
			prefix := randomHex(4)
			drive(b, clients, func(worker int) (func() error, error) {
				conn, err := pgx.Connect(b.Context(), e.schemaURL)
				if err != nil {
					return nil, err
				}
				b.Cleanup(func() { conn.Close(context.Background()) })
				rng := mathrand.New(mathrand.NewPCG(uint64(worker), 2))
				hash := make([]byte, 32) // a payload hash's size
				return func() error {
					now := time.Now()
					from, spread := eventWindow(now)
					events, claims := make([][]any, benchBatch), make([][]any, benchBatch)
					for j := range events {
						r := e.randomRow(rng, from, spread)
						var q pgtype.Numeric
						if err := q.Scan(r.quantity); err != nil {
							return err
						}
						id, key := "evt_"+strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", ""), fmt.Sprintf("%s-%d", prefix, seq.Add(1))
						events[j] = []any{id, r.customer, benchMeter, q, r.time.UTC().Truncate(time.Microsecond), key, r.subject, false,
							benchSource, "", now}
						claims[j] = []any{r.customer, key, id, hash}
					}
					return pgx.BeginFunc(b.Context(), conn, func(tx pgx.Tx) error {
						if keys {
							if err := copyRows(b.Context(), tx, "event_keys", keyColumns, claims); err != nil {
								return err
							}
						}
						return copyRows(b.Context(), tx, "events", eventColumns, events)
					})
				}, nil
			})
		})
	}
}

// copyRows COPYs rows into a table and checks that all were written.
func copyRows(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("COPY %s: %w", table, err)
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("COPY %s: %d rows of %d", table, n, len(rows))
	}
	return nil
}

// Query benchmark data: queryEvents events of queryCustomers customers and
// querySubjects subjects, evenly over one month, with their rollups.
const (
	queryEvents    = 10_000_000
	queryCustomers = 1000
	querySubjects  = 10
)

// BenchmarkQueryUsage calls QueryUsage over gRPC for random customers and
// one month, with 10 million events (and their hourly rollups, one per
// customer, hour and subject) in PostgreSQL, and reports latency
// percentiles, with window NONE and DAY. The data is seeded in SQL once per
// process. Run it with: make bench-metering-query
func BenchmarkQueryUsage(b *testing.B) {
	url := queryDatabase(b)
	e := startBench(b, config.Config{DatabaseURL: url})
	month := queryMonth(time.Now())
	seedQueryData(b, e, month)
	period := &commonv1.Period{Start: timestamppb.New(month), End: timestamppb.New(month.AddDate(0, 1, 0))}
	days := int(month.AddDate(0, 1, 0).Sub(month) / (24 * time.Hour))
	e.checkQuery(b, month, queryCustomerID(7))

	for _, w := range []struct {
		name   string
		window meteringv1.Window
		values int
	}{{"NONE", meteringv1.Window_WINDOW_NONE, 0}, {"DAY", meteringv1.Window_WINDOW_DAY, days}} {
		b.Run("window="+w.name, func(b *testing.B) {
			queryDB.mu.Lock()
			for _, n := range queryDB.notes {
				b.Log(n)
			}
			queryDB.notes = nil
			queryDB.mu.Unlock()
			ctx := b.Context()
			rng := mathrand.New(mathrand.NewPCG(1, 2))
			var lat []time.Duration
			for b.Loop() {
				req := &meteringv1.QueryUsageRequest{CustomerId: queryCustomerID(rng.IntN(queryCustomers)), MeterKey: benchMeter,
					Period: period, Window: w.window}
				start := time.Now()
				res, err := e.client.QueryUsage(ctx, req)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if res.GetTotal() == "" || res.GetTotal() == "0" || len(res.GetValues()) != w.values {
					b.Fatalf("%s: total %q, %d values", req.GetCustomerId(), res.GetTotal(), len(res.GetValues()))
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// bench is the metering service on PostgreSQL and Redis, with the catalog
// and the subscription service it asks about features and customers.
type bench struct {
	url       string // the database
	schemaURL string // the database, with search_path=metering
	client    meteringv1.MeteringServiceClient
	subs      subscriptionv1.SubscriptionServiceClient
	customers []string
}

// startBench serves the catalog (with its demo features) and the
// subscription service on one server, and the metering service on another,
// all on the database cfg names (PostgreSQL, each in its own schema, or
// SQLite files), and the meter "bandwidth" sums the feature bandwidth_gib.
func startBench(b *testing.B, cfg config.Config) *bench {
	b.Helper()
	ctx := b.Context()
	log := slog.New(slog.DiscardHandler)
	rdb := &redisx.Redis{Client: redistest.New(b)}
	d := app.Deps{Config: cfg, Redis: rdb, Log: log}
	peerSrv := apptest.Serve(b, d, catalog.Open, subscription.Open)
	if err := catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(peerSrv.Conn())); err != nil {
		b.Fatal(err)
	}
	d.Catalog, d.Subscription = peerSrv.Conn(), peerSrv.Conn()
	srv := apptest.Serve(b, d, metering.Open)
	e := &bench{url: cfg.DatabaseURL, client: meteringv1.NewMeteringServiceClient(srv.Conn()), subs: subscriptionv1.NewSubscriptionServiceClient(peerSrv.Conn())}
	_, err := e.client.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: benchMeter, FeatureKey: "bandwidth_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM, Description: "Bandwidth, GiB"}})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		b.Fatal(err)
	}
	if cfg.DatabaseURL != "" {
		e.schemaURL = withParam(b, cfg.DatabaseURL, "search_path", "metering")
	}
	return e
}

// createCustomers creates n customers through the subscription API.
func (e *bench) createCustomers(b *testing.B, n int) {
	b.Helper()
	for i := range n {
		res, err := e.subs.CreateCustomer(b.Context(), &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{
			ExternalId: fmt.Sprintf("bench-%03d", i), Name: fmt.Sprintf("Bench customer %d", i), Currency: "EUR"}})
		if err != nil {
			b.Fatal(err)
		}
		e.customers = append(e.customers, res.GetCustomer().GetCustomerId())
	}
}

// warmUp ingests one event per customer: the metering service then knows
// every customer (it caches them after the first lookup) and has this
// month's event partition.
func (e *bench) warmUp(b *testing.B) {
	b.Helper()
	now := time.Now()
	req := &meteringv1.IngestBatchRequest{}
	for i, c := range e.customers {
		req.Events = append(req.Events, &meteringv1.UsageEvent{CustomerId: c, MeterKey: benchMeter, Quantity: "1",
			Time: timestamppb.New(now.Add(-time.Minute)), IdempotencyKey: fmt.Sprintf("warm-up-%d", i), Subject: "site-0", Source: benchSource})
	}
	res, err := e.client.IngestBatch(b.Context(), req)
	if err != nil {
		b.Fatal(err)
	}
	if int(res.GetAccepted()) != len(e.customers) {
		b.Fatalf("warm-up: %v", res)
	}
}

// row is one generated event.
type row struct {
	customer, subject, quantity string
	time                        time.Time
}

func (e *bench) randomRow(rng *mathrand.Rand, from time.Time, spread time.Duration) row {
	return row{customer: e.customers[rng.IntN(len(e.customers))], subject: fmt.Sprintf("site-%d", rng.IntN(benchSubjects)),
		quantity: benchQuantities[rng.IntN(len(benchQuantities))], time: from.Add(time.Duration(rng.Int64N(int64(spread))))}
}

// eventWindow is when generated events happen: the last 4 hours, cut to
// the current day (UTC) unless less than an hour of it has passed.
func eventWindow(now time.Time) (time.Time, time.Duration) {
	from := now.Add(-4 * time.Hour)
	if day := now.UTC().Truncate(24 * time.Hour); from.Before(day) && now.Sub(day) >= time.Hour {
		from = day
	}
	return from, now.Sub(from)
}

// queryRow runs a query on the metering schema and scans its one row.
func (e *bench) queryRow(b *testing.B, sql string, dest ...any) {
	b.Helper()
	ctx := context.WithoutCancel(b.Context())
	conn, err := pgx.Connect(ctx, e.schemaURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, sql).Scan(dest...); err != nil {
		b.Fatal(err)
	}
}

// drive runs the benchmark loop: each iteration is one call of work on
// one of clients concurrent workers, and the timer runs until every call
// has returned. newWorker makes a worker's work. It reports events/s.
func drive(b *testing.B, clients int, newWorker func(worker int) (func() error, error)) {
	b.Helper()
	work := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Bool
	for i := range clients {
		do, err := newWorker(i)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			for range work {
				if failed.Load() {
					continue
				}
				if err := do(); err != nil {
					failed.Store(true)
					b.Error(err)
				}
			}
		})
	}
	calls := 0
	start := time.Now()
	for b.Loop() {
		if failed.Load() {
			break
		}
		work <- struct{}{}
		calls++
	}
	b.StartTimer()
	close(work)
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	if failed.Load() {
		b.FailNow()
	}
	b.ReportMetric(float64(calls*benchBatch)/elapsed.Seconds(), "events/s")
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
}

// queryMonth is the month the query benchmark stores and queries: the
// last whole month.
func queryMonth(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
}

func queryCustomerID(i int) string { return fmt.Sprintf("cus_q%05d", i) }

// The query benchmark's database, seeded once per process and dropped by
// TestMain: seeding takes minutes, and Go runs a benchmark function once
// per -count.
var queryDB struct {
	mu     sync.Mutex
	name   string
	url    string
	seeded bool
	// notes are the seeding times, logged by the first sub-benchmark (a
	// parent benchmark's log shows only with -v).
	notes []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if queryDB.name != "" {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, storagetest.AdminURL()); err == nil {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+queryDB.name+" WITH (FORCE)"); err != nil {
				fmt.Fprintln(os.Stderr, "drop the query benchmark's database:", err)
			}
			conn.Close(ctx)
		}
	}
	os.Exit(code)
}

// queryDatabase returns the URL of the query benchmark's database,
// creating it empty the first time.
func queryDatabase(b *testing.B) string {
	b.Helper()
	queryDB.mu.Lock()
	defer queryDB.mu.Unlock()
	if queryDB.url != "" {
		return queryDB.url
	}
	ctx := b.Context()
	conn, err := pgx.Connect(ctx, storagetest.AdminURL())
	if err != nil {
		b.Fatalf("postgres at %s: %v", storagetest.AdminURL(), err)
	}
	defer conn.Close(ctx)
	name := "t_bench_metering_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(storagetest.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	queryDB.name, queryDB.url = name, u.String()
	return queryDB.url
}

// seedQueryData stores, once per process, queryEvents events of the meter
// in month, directly in SQL: customer c's k-th event (k < 10,000) has
// subject k mod 10 and happens k/10,000 of the way through the month, so
// each customer has events in every hour and subject. The rollups are
// computed from the events as ingestion computes them, and stored in the
// order ingestion would store them: by hour.
func seedQueryData(b *testing.B, e *bench, month time.Time) {
	b.Helper()
	queryDB.mu.Lock()
	defer queryDB.mu.Unlock()
	if queryDB.seeded {
		return
	}
	ctx := b.Context()
	conn, err := pgx.Connect(ctx, e.schemaURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	end := month.AddDate(0, 1, 0)
	perCustomer := queryEvents / queryCustomers
	step := end.Sub(month).Seconds() / float64(perCustomer)
	partition := "events_" + month.Format("2006_01")
	bounds := fmt.Sprintf("FROM ('%s') TO ('%s')", month.Format(time.RFC3339), end.Format(time.RFC3339))
	// The month's partition ends up as Store.Prepare creates it, with the
	// index of events; loading it before attaching it builds that index
	// once instead of row by row (3 minutes instead of 1 on 2 cores). So
	// does dropping and adding back the rollups' primary key.
	stmts := []struct{ what, sql string }{
		{"settings", "SET work_mem = '1GB'; SET maintenance_work_mem = '1GB'"},
		{"partition", fmt.Sprintf("CREATE TABLE %s (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)", partition)},
		{"events", fmt.Sprintf(`INSERT INTO %[7]s (event_id, customer_id, meter_key, quantity, time, idempotency_key, subject, delta, source, properties, received_time)
			SELECT 'evt_seed' || lpad(i::text, 9, '0'), 'cus_q' || lpad((i %% %[1]d)::text, 5, '0'), '%[2]s',
			       1 + (i %% 40) * 0.25, t, 'seed-' || i, 'site-' || ((i / %[1]d) %% %[3]d), false, 'seed', '', t + interval '2 seconds'
			FROM generate_series(0, %[4]d) i,
			     LATERAL (SELECT '%[5]s'::timestamptz + make_interval(secs => (i / %[1]d) * %[6]f + (i %% %[1]d) %% 60)) AS g(t)`,
			queryCustomers, benchMeter, querySubjects, queryEvents-1, month.Format(time.RFC3339), step, partition)},
		{"attach", fmt.Sprintf("ALTER TABLE events ATTACH PARTITION %s FOR VALUES %s", partition, bounds)},
		{"drop rollups key", "ALTER TABLE rollups DROP CONSTRAINT rollups_pkey"},
		// What ingestion would have stored, in the order it would have:
		// hour by hour.
		{"rollups", fmt.Sprintf(`INSERT INTO rollups (customer_id, meter_key, hour, subject, total, count, max, latest_time, latest)
			SELECT customer_id, meter_key, date_trunc('hour', time, 'UTC'), subject, SUM(quantity), COUNT(*), MAX(quantity), MAX(time),
			       (array_agg(quantity ORDER BY time DESC))[1]
			FROM events WHERE time >= '%[1]s' AND time < '%[2]s'
			GROUP BY customer_id, meter_key, date_trunc('hour', time, 'UTC'), subject
			ORDER BY 3, 1, 4`, month.Format(time.RFC3339), end.Format(time.RFC3339))},
		{"add rollups key", "ALTER TABLE rollups ADD CONSTRAINT rollups_pkey PRIMARY KEY (customer_id, meter_key, hour, subject)"},
		// Daily rollups, in the order ingestion would have made them: day by day.
		{"daily rollups", `INSERT INTO daily_rollups (customer_id, meter_key, day, total, count, max, latest_time, latest)
			SELECT customer_id, meter_key, date_trunc('day', hour, 'UTC'), SUM(total), SUM(count), MAX(max), MAX(latest_time),
			       (array_agg(latest ORDER BY latest_time DESC))[1]
			FROM rollups GROUP BY 1, 2, 3 ORDER BY 3, 1`},
		// As autovacuum would have; and no autovacuum or checkpoint of the
		// load while queries are timed.
		{"vacuum analyze", "VACUUM ANALYZE"},
		{"checkpoint", "CHECKPOINT"},
	}
	start := time.Now()
	var steps []string
	for _, s := range stmts {
		t := time.Now()
		if _, err := conn.Exec(ctx, s.sql); err != nil {
			b.Fatalf("seed %s: %v", s.what, err)
		}
		steps = append(steps, fmt.Sprintf("%s %v", s.what, time.Since(t).Round(100*time.Millisecond)))
	}
	var events, rollups int64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rollups)").Scan(&events, &rollups); err != nil {
		b.Fatal(err)
	}
	queryDB.notes = append(queryDB.notes,
		fmt.Sprintf("seeded %d events and %d rollups in %v (once per process)", events, rollups, time.Since(start).Round(100*time.Millisecond)),
		"seed steps: "+strings.Join(steps, ", "))
	queryDB.seeded = true
}

// checkQuery checks that QueryUsage adds up a customer's month as its
// events do.
func (e *bench) checkQuery(b *testing.B, month time.Time, customer string) {
	b.Helper()
	var want pgtype.Numeric
	e.queryRow(b, fmt.Sprintf("SELECT SUM(quantity) FROM events WHERE customer_id = '%s' AND meter_key = '%s' AND time >= '%s' AND time < '%s'",
		customer, benchMeter, month.Format(time.RFC3339), month.AddDate(0, 1, 0).Format(time.RFC3339)), &want)
	res, err := e.client.QueryUsage(b.Context(), &meteringv1.QueryUsageRequest{CustomerId: customer, MeterKey: benchMeter,
		Period: &commonv1.Period{Start: timestamppb.New(month), End: timestamppb.New(month.AddDate(0, 1, 0))}})
	if err != nil {
		b.Fatal(err)
	}
	wantText, err := want.Value()
	if err != nil {
		b.Fatal(err)
	}
	if !decimal.RequireFromString(res.GetTotal()).Equal(decimal.RequireFromString(wantText.(string))) {
		b.Fatalf("%s: QueryUsage total %s, events sum to %s", customer, res.GetTotal(), wantText)
	}
}

func withParam(b *testing.B, raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}
