package metering_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// describeUsage writes a customer's usage as "meter total" lines.
func describeUsage(u metering.CustomerUsage) []string {
	var out []string
	for _, m := range u.Usage {
		out = append(out, m.Meter.Key+" "+m.Total.String())
	}
	return out
}

func TestBatchQuery(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		forB := func(in metering.EventInput) metering.EventInput { in.CustomerID = "cus_b"; return in }
		e.ingest(t,
			// cus_a: 10 + 5 GiB and 2 calls in April, 7 GiB in March; two
			// users; 2 sites from April 1 and 4 from April 16 (3 site-months),
			// and a level before April that carries in.
			ev("sum", "10", at(4, 2, 3), "a1"), ev("sum", "5", at(4, 20, 23), "a2"), ev("sum", "7", at(3, 31, 23), "a3"),
			ev("count", "1", at(4, 3, 0), "a4"), ev("count", "1", at(4, 3, 5), "a5"),
			subj(ev("unique", "1", at(4, 4, 0), "a6"), "ann"), subj(ev("unique", "1", at(4, 5, 0), "a7"), "bob"),
			subj(ev("sites", "2", at(3, 20, 0), "a8"), "account"), subj(ev("sites", "4", at(4, 16, 0), "a9"), "account"),
			// cus_b: 1.5 GiB in April, and a site closed before April (level
			// 0 all month: no usage).
			forB(ev("sum", "1.5", at(4, 30, 23), "b1")),
			forB(subj(ev("sites", "1", at(3, 1, 0), "b2"), "s")), forB(subj(ev("sites", "0", at(3, 10, 0), "b3"), "s")),
		)
		march := metering.Period{Start: at(3, 1, 0), End: at(4, 1, 0)}
		qs := metering.UsageQueries{
			{CustomerID: "cus_a", Period: april},
			{CustomerID: "cus_b", Period: april},
			{CustomerID: "cus_a", Period: march},
			{CustomerID: "cus_nobody", Period: april},
		}
		got, err := e.svc.BatchQuery(ctx, qs)
		must(t, err)
		want := [][]string{
			{"count 2", "sites 3", "sum 15", "unique 2"},
			{"sum 1.5"},
			// 2 sites from March 20 to 31: 12 of 31 days.
			{"sites 0.774193548387096774", "sum 7"},
			nil,
		}
		for i, w := range want {
			if got[i].CustomerID != qs[i].CustomerID || got[i].Period != qs[i].Period {
				t.Errorf("result %d is for %s %v, want %s %v", i, got[i].CustomerID, got[i].Period, qs[i].CustomerID, qs[i].Period)
			}
			if diff := cmp.Diff(w, describeUsage(got[i])); diff != "" {
				t.Errorf("query %d (-want +got):\n%s", i, diff)
			}
			// Each total is what QueryUsage answers for the same meter.
			for _, u := range got[i].Usage {
				total, _ := e.query(t, metering.QueryInput{CustomerID: qs[i].CustomerID, Meter: u.Meter.Key, Period: qs[i].Period})
				if total != u.Total.String() {
					t.Errorf("query %d meter %s: batch %s, QueryUsage %s", i, u.Meter.Key, u.Total, total)
				}
			}
		}
	})
}

func TestBatchQueryRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.SQLite(t, "metering", migrations.FS))
	tooMany := make(metering.UsageQueries, metering.MaxUsageQueries+1)
	for i := range tooMany {
		tooMany[i] = metering.UsageQuery{CustomerID: fmt.Sprintf("cus_%d", i), Period: april}
	}
	for _, tt := range []struct {
		name  string
		qs    metering.UsageQueries
		field string
	}{
		{"no query", nil, "queries"},
		{"too many", tooMany, "queries"},
		{"no customer", metering.UsageQueries{{Period: april}}, "queries[0].customer_id"},
		{"a long customer id", metering.UsageQueries{{CustomerID: strings.Repeat("c", 256), Period: april}}, "queries[0].customer_id"},
		{"no period", metering.UsageQueries{{CustomerID: "cus_a"}, {CustomerID: "cus_a"}}, "queries[0].period"},
		{"reversed", metering.UsageQueries{{CustomerID: "cus_a", Period: metering.Period{Start: april.End, End: april.Start}}}, "queries[0].period"},
		{"not whole hours", metering.UsageQueries{{CustomerID: "cus_a", Period: april}, {CustomerID: "cus_a",
			Period: metering.Period{Start: april.Start.Add(1), End: april.End}}}, "queries[1].period"},
		{"years 1 to 9999", metering.UsageQueries{{CustomerID: "cus_a", Period: metering.Period{Start: at(1, 1, 0).AddDate(-2025, 0, 0), End: at(1, 1, 0).AddDate(7973, 0, 0)}}}, "queries[0].period"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.BatchQuery(t.Context(), tt.qs)
			var fe *errs.Error
			if !errs.Is(err, errs.Invalid) || !errors.As(err, &fe) || fe.Violations[0].Field != tt.field {
				t.Fatalf("got %v, want an invalid %s", err, tt.field)
			}
		})
	}
}
