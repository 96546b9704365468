package metering_test

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// TestQuantityBounds checks that the quantities an event may have and the
// sums the service keeps agree: the poison input of the consolidation
// issue (two events of 10^20 - 1 in one hour, which overflowed the
// rollups' NUMERIC(38, 18) and blocked every fold) is refused, the largest
// accepted quantity folds, and sums far beyond 20 integer digits fold and
// read back exactly.
func TestQuantityBounds(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		rs, err := e.svc.Ingest(t.Context(), "events", []metering.EventInput{
			ev("sum", "99999999999999999999", at(5, 1, 1), "p1"),
			ev("sum", "99999999999999999999", at(5, 1, 1), "p2"),
			ev("sum", "1000000000000000", at(5, 1, 1), "p3"),
			delta(subj(ev("sites", "-1000000000000000", at(5, 1, 1), "p4"), "s")),
			ev("sum", "999999999999999.999999999999999999", at(5, 1, 1), "ok1"),
			ev("sum", "999999999999999.999999999999999999", at(5, 1, 1), "ok2"),
		})
		must(t, err)
		for i, want := range []metering.Status{metering.Rejected, metering.Rejected, metering.Rejected, metering.Rejected, metering.Accepted, metering.Accepted} {
			if rs[i].Status != want || want == metering.Rejected && (rs[i].Reason != metering.InvalidQuantity || !strings.Contains(rs[i].Message, "10^15")) {
				t.Errorf("event %d: %+v, want status %d (an out-of-range quantity is INVALID_QUANTITY naming the bound)", i, rs[i], want)
			}
		}
		hour := metering.Period{Start: at(5, 1, 1), End: at(5, 1, 2)}
		if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: hour}); total != "1999999999999999.999999999999999998" {
			t.Errorf("two of the largest quantities sum to %s", total)
		}

		// What 10^17 such events would sum to: more than NUMERIC(38, 18)
		// and money.Parse hold.
		huge := decimal.RequireFromString("123456789012345678901234567890.5")
		d := metering.RollupDelta{CustomerID: "cus_b", Meter: "sum", Rollup: metering.Rollup{Hour: at(5, 1, 1), Total: huge, Count: 1, Max: huge, LatestTime: at(5, 1, 1), Latest: huge}}
		for _, id := range []string{"bat_huge1", "bat_huge2"} {
			must(t, e.store.AddPending(t.Context(), id, []metering.RollupDelta{d}))
		}
		if _, err := e.svc.Fold(t.Context(), true); err != nil {
			t.Fatalf("fold of huge sums: %v", err)
		}
		total, _ := e.query(t, metering.QueryInput{CustomerID: "cus_b", Meter: "sum", Period: hour})
		if want := huge.Add(huge).String(); total != want {
			t.Errorf("huge sums read back as %s, want %s", total, want)
		}
		if total, _ := e.query(t, metering.QueryInput{CustomerID: "cus_b", Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}}); total != huge.Add(huge).String() {
			t.Errorf("huge daily sums read back as %s", total)
		}
	})
}

// TestQuarantine checks that bad pending batches (a corrupt blob, and
// deltas of a meter that does not exist) are moved aside and reported while
// every other batch folds and every query answers.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		e.ingest(t, ev("sum", "1", at(5, 1, 1), "a1"))
		must(t, db.Conn(ctx).Exec("INSERT INTO pending_rollups (batch_id, deltas) VALUES (?, ?)", "bat_corrupt", []byte{0xff, 0xff, 0x01}).Error)
		must(t, e.store.AddPending(ctx, "bat_ghost", []metering.RollupDelta{{CustomerID: "cus_a", Meter: "ghost",
			Rollup: metering.Rollup{Hour: at(5, 1, 1), Total: decimal.NewFromInt(1), Count: 1, Max: decimal.NewFromInt(1), LatestTime: at(5, 1, 1), Latest: decimal.NewFromInt(1)}}}))
		b := ev("sum", "2", at(5, 1, 1), "b1")
		b.CustomerID = "cus_b"
		e.ingest(t, b)

		n, err := e.svc.Fold(ctx, false)
		if err != nil || n != 4 {
			t.Errorf("Fold = %d, %v; want 4 batches taken (2 folded, 2 quarantined) and no error", n, err)
		}
		if p := e.pending(t); p != 0 {
			t.Errorf("%d batches still pending", p)
		}
		hour := metering.Period{Start: at(5, 1, 1), End: at(5, 1, 2)}
		for _, tt := range []struct{ name, customer, want string }{
			{"cus_a's good batch folded", "cus_a", "1"},
			{"cus_b's batch after the bad ones folded", "cus_b", "2"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if total, _ := e.query(t, metering.QueryInput{CustomerID: tt.customer, Meter: "sum", Period: hour}); total != tt.want {
					t.Errorf("total %s, want %s", total, tt.want)
				}
			})
		}
		p, err := e.svc.ListQuarantined(ctx, page.Request{})
		must(t, err)
		var got []string
		for _, q := range p.Items {
			if q.Error == "" || !q.Time.Equal(now) {
				t.Errorf("quarantined %+v: want its error and the time", q)
			}
			got = append(got, q.BatchID)
		}
		if strings.Join(got, " ") != "bat_corrupt bat_ghost" {
			t.Errorf("quarantined %v, want bat_corrupt and bat_ghost", got)
		}

		// Ingestion and folds go on.
		e.ingest(t, ev("sum", "3", at(5, 1, 1), "a2"))
		if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: hour}); total != "4" {
			t.Errorf("total after more usage %s, want 4", total)
		}
	})
}
