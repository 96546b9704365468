package metering_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// TestEventText checks that a batch's events with a NUL or invalid UTF-8
// in a string, or a time out of range, are rejected one by one with the
// field named, while the good events of the batch are stored.
func TestEventText(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		with := func(key string, f func(*metering.EventInput)) metering.EventInput {
			x := ev("sum", "1", at(5, 2, 0), key)
			f(&x)
			return x
		}
		tests := []struct {
			name, field, message string
			in                   metering.EventInput
		}{
			{"a NUL in the subject", "events[0].subject", "NUL", with("t1", func(x *metering.EventInput) { x.Subject = "site\x00one" })},
			{"invalid UTF-8 in the customer id", "events[1].customer_id", "UTF-8", with("t2", func(x *metering.EventInput) { x.CustomerID = "cus_\xff" })},
			{"a NUL in the idempotency key", "events[2].idempotency_key", "NUL", with("t3\x00", func(*metering.EventInput) {})},
			{"invalid UTF-8 in the source", "events[3].source", "UTF-8", with("t4", func(x *metering.EventInput) { x.Source = "\xc3" })},
			{"a NUL in a property value", "events[4].properties", "NUL", with("t5", func(x *metering.EventInput) { x.Properties = map[string]string{"k": "\x00"} })},
			{"invalid UTF-8 in a property key", "events[5].properties", "UTF-8", with("t6", func(x *metering.EventInput) { x.Properties = map[string]string{"\xff": "v"} })},
			{"a time in year 1 is out of range, not missing", "events[6].time", "out of range",
				with("t7", func(x *metering.EventInput) { x.Time = time.Date(1, 3, 1, 0, 0, 0, 0, time.UTC) })},
			{"the zero instant, set, is out of range", "events[7].time", "out of range",
				with("t8", func(x *metering.EventInput) { x.Time = time.Time{}.Add(-time.Nanosecond) })},
			{"a time before 1970 is out of range", "events[8].time", "out of range",
				with("t9", func(x *metering.EventInput) { x.Time = time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC) })},
			{"an unset time is required", "events[9].time", "required", with("t10", func(x *metering.EventInput) { x.Time = time.Time{} })},
			{"a control character no report can carry", "events[10].subject", "U+0001", with("t11", func(x *metering.EventInput) { x.Subject = "a\x01b" })},
		}
		in := []metering.EventInput{}
		for _, tt := range tests {
			in = append(in, tt.in)
		}
		in = append(in, ev("sum", "2", at(5, 2, 0), "good"))
		rs, err := e.svc.Ingest(t.Context(), "events", in)
		must(t, err)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := rs[i]
				if r.Status != metering.Rejected || r.Reason != metering.Invalid || r.Field != tt.field || !strings.Contains(r.Message, tt.message) {
					t.Errorf("got %+v, want INVALID on %s saying %q", r, tt.field, tt.message)
				}
			})
		}
		if r := rs[len(tests)]; r.Status != metering.Accepted {
			t.Errorf("the good event: %+v", r)
		}
		if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(6, 1, 0)}}); total != "2" {
			t.Errorf("stored total %s, want the good event's 2", total)
		}
	})
}
