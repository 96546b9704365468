package metering_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// TestBatchClosePeriod closes several customers at once on both engines:
// a closing time only moves forward, a customer named twice is closed at
// the later time, an unknown customer writes nothing, and events before a
// customer's closing time are refused afterwards.
func TestBatchClosePeriod(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		_, err := e.svc.ClosePeriod(ctx, metering.ClosePeriodInput{CustomerID: "cus_b", Before: at(5, 1, 0)})
		must(t, err)
		got, err := e.svc.BatchClosePeriod(ctx, metering.ClosePeriodInputs{
			{CustomerID: "cus_a", Before: at(4, 1, 0)},
			{CustomerID: "cus_b", Before: at(4, 1, 0)}, // earlier than its closing: stays at May 1
			{CustomerID: "cus_a", Before: at(4, 2, 0)}, // the later of cus_a's two wins
			{CustomerID: "cus_c", Before: at(4, 1, 0)},
		})
		must(t, err)
		want := []time.Time{at(4, 2, 0), at(5, 1, 0), at(4, 2, 0), at(4, 1, 0)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("closed %v, want %v", got, want)
		}
		again, err := e.svc.BatchClosePeriod(ctx, metering.ClosePeriodInputs{{CustomerID: "cus_c", Before: at(5, 1, 0)}})
		must(t, err)
		if !again[0].Equal(at(5, 1, 0)) {
			t.Fatalf("closed cus_c again at %v, want May 1", again[0])
		}
		closed, err := e.store.ClosedBefore(ctx, []string{"cus_a", "cus_b", "cus_c"})
		must(t, err)
		if !closed["cus_a"].Equal(at(4, 2, 0)) || !closed["cus_b"].Equal(at(5, 1, 0)) || !closed["cus_c"].Equal(at(5, 1, 0)) {
			t.Fatalf("stored closing times %v", closed)
		}
		rs, err := e.svc.Ingest(ctx, "events", []metering.EventInput{ev("sum", "1", at(4, 1, 23), "late-a")})
		must(t, err)
		if rs[0].Status != metering.Rejected || rs[0].Reason != metering.LatePeriodClosed {
			t.Fatalf("an event before cus_a's closing: %+v", rs[0])
		}

		_, err = e.svc.BatchClosePeriod(ctx, metering.ClosePeriodInputs{
			{CustomerID: "cus_d", Before: at(4, 1, 0)}, {CustomerID: "cus_x", Before: at(4, 1, 0)}})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("an unknown customer: got %v, want NotFound", err)
		}
		closed, err = e.store.ClosedBefore(ctx, []string{"cus_d"})
		must(t, err)
		if len(closed) != 0 {
			t.Fatalf("a refused batch closed %v", closed)
		}
	})
}

func TestBatchClosePeriodRefuses(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		tooMany := make(metering.ClosePeriodInputs, metering.MaxClosings+1)
		for i := range tooMany {
			tooMany[i] = metering.ClosePeriodInput{CustomerID: fmt.Sprintf("cus_%d", i), Before: at(4, 1, 0)}
		}
		year1 := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
		year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		for _, tt := range []struct {
			name  string
			in    metering.ClosePeriodInputs
			field string
		}{
			{"no closing", nil, "closings"},
			{"too many", tooMany, "closings"},
			{"no customer", metering.ClosePeriodInputs{{Before: at(4, 1, 0)}}, "closings[0].customer_id"},
			{"a long customer id", metering.ClosePeriodInputs{{CustomerID: strings.Repeat("c", 256), Before: at(4, 1, 0)}}, "closings[0].customer_id"},
			{"a NUL", metering.ClosePeriodInputs{{CustomerID: "cus_\x00", Before: at(4, 1, 0)}}, "closings[0].customer_id"},
			{"invalid UTF-8", metering.ClosePeriodInputs{{CustomerID: "cus_\xff", Before: at(4, 1, 0)}}, "closings[0].customer_id"},
			{"no time", metering.ClosePeriodInputs{{CustomerID: "cus_a", Before: at(4, 1, 0)}, {CustomerID: "cus_a"}}, "closings[1].closed_before"},
			{"year 1", metering.ClosePeriodInputs{{CustomerID: "cus_a", Before: year1}}, "closings[0].closed_before"},
			{"year 9999", metering.ClosePeriodInputs{{CustomerID: "cus_a", Before: year9999}}, "closings[0].closed_before"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.BatchClosePeriod(t.Context(), tt.in)
				var fe *errs.Error
				if !errs.Is(err, errs.Invalid) || !errors.As(err, &fe) || fe.Violations[0].Field != tt.field {
					t.Fatalf("got %v, want an invalid %s", err, tt.field)
				}
			})
		}
	})
}
