package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

func testDeltas() []metering.RollupDelta {
	hour := time.Date(2026, 5, 10, 9, 0, 0, 0, time.UTC)
	return []metering.RollupDelta{
		{CustomerID: "cus_1", Meter: "bandwidth", Rollup: metering.Rollup{Hour: hour, Subject: "site-42",
			Total: money.MustParse("12345678901234567890.123456789012345678"), Count: 3, Max: money.MustParse("10.5"),
			LatestTime: hour.Add(59*time.Minute + 59*time.Second + 999999*time.Microsecond), Latest: money.MustParse("0.000000000000000001")}},
		{CustomerID: "cüs \t\n", Meter: "m", Rollup: metering.Rollup{Hour: hour.Add(-1000 * time.Hour), Total: money.Zero, Count: 0,
			Max: money.Zero, LatestTime: hour.Add(-1000 * time.Hour), Latest: money.MustParse("-2.5")}},
	}
}

func TestDeltasRoundTrip(t *testing.T) {
	for _, ds := range [][]metering.RollupDelta{nil, testDeltas()} {
		got, err := decodeDeltas(nil, encodeDeltas(ds))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ds, got, cmp.Comparer(func(a, b money.Decimal) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	// Decoding appends.
	b := encodeDeltas(testDeltas())
	two, err := decodeDeltas(testDeltas()[:1], b)
	if err != nil || len(two) != 3 {
		t.Errorf("decode after one delta = %d deltas, %v; want 3", len(two), err)
	}
}

func TestDeltasMalformed(t *testing.T) {
	b := encodeDeltas(testDeltas())
	for n := range len(b) {
		if _, err := decodeDeltas(nil, b[:n]); !errors.Is(err, errBadDeltas) {
			t.Fatalf("decode of the first %d of %d bytes: %v, want errBadDeltas", n, len(b), err)
		}
	}
	if _, err := decodeDeltas(nil, append(b, 0)); !errors.Is(err, errBadDeltas) {
		t.Errorf("decode with a trailing byte: %v, want errBadDeltas", err)
	}
}

func FuzzDecodeDeltas(f *testing.F) {
	f.Add(encodeDeltas(testDeltas()))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := decodeDeltas(nil, b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same bytes, unless decimals
		// were written in another form ("1.50" decodes as 1.5).
		again, err := decodeDeltas(nil, encodeDeltas(ds))
		if err != nil || len(again) != len(ds) {
			t.Fatalf("re-decoding %d deltas: %d, %v", len(ds), len(again), err)
		}
	})
}

// TestCreatedConcurrently checks which errors of CREATE TABLE mean that a
// concurrent creator won: both ways PostgreSQL reports the race, and no
// other error.
func TestCreatedConcurrently(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"already exists", &pgconn.PgError{Code: "42P07", Message: `relation "events_2026_06" already exists`}, true},
		{"a unique violation on pg_type", fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "23505",
			Message: `duplicate key value violates unique constraint "pg_type_typname_nsp_index"`}), true},
		{"a partition overlapping another", &pgconn.PgError{Code: "42P17", Message: "partition would overlap"}, false},
		{"a lost connection", errors.New("connection reset by peer: already exists"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := createdConcurrently(tt.err); got != tt.want {
				t.Errorf("createdConcurrently(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
