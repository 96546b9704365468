package metering_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/report"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
	return want
}

// TestReportFixedPoint exports a customer's April, checks it against the
// golden file, imports it into an empty store, and exports again: the bytes
// must be the same (SlapOS's fixed point). Importing twice changes nothing.
func TestReportFixedPoint(t *testing.T) {
	t.Parallel()
	for _, f := range []struct {
		name   string
		format report.Format
		file   string
	}{{"json", report.JSON, "report-cus_a-april.json"}, {"xml", report.XML, "report-cus_a-april.xml"}} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
				src := newEnv(t, db)
				withProps := subj(ev("sum", "12.50", at(4, 3, 10), "bw-1"), "site-1")
				withProps.Source, withProps.Properties = "collector-eu", map[string]string{"region": "eu", "class": "egress"}
				src.ingest(t,
					withProps,
					ev("sum", "0.000000000000000001", at(4, 3, 10), "bw-2"),
					subj(ev("sites", "2", at(4, 1, 0), "g-1"), "account"),
					delta(subj(ev("sites", "-1", at(4, 20, 0).Add(123456789), "g-2"), "account")),
					ev("count", "1", at(3, 31, 23), "outside"), // before the period
				)
				exported, n, err := src.svc.Export(t.Context(), metering.ExportInput{CustomerID: "cus_a", Period: april, Format: f.format})
				must(t, err)
				if n != 4 {
					t.Errorf("exported %d events, want 4", n)
				}
				want := golden(t, f.file, exported)

				dst := newEnv(t, storagetest.SQLite(t, "metering", migrations.FS))
				rs, err := dst.svc.Import(t.Context(), want, f.format)
				must(t, err)
				for _, r := range rs {
					if r.Status != metering.Accepted {
						t.Fatalf("import: %+v", r)
					}
				}
				again, _, err := dst.svc.Export(t.Context(), metering.ExportInput{CustomerID: "cus_a", Period: april, Format: f.format})
				must(t, err)
				if !bytes.Equal(again, want) {
					t.Errorf("export after import differs:\n%s", again)
				}
				rs, err = dst.svc.Import(t.Context(), want, f.format)
				must(t, err)
				for _, r := range rs {
					if r.Status != metering.Duplicate {
						t.Fatalf("second import: %+v", r)
					}
				}
				for _, meter := range []string{"sum", "sites"} {
					a, _ := src.query(t, metering.QueryInput{Meter: meter, Period: april})
					b, _ := dst.query(t, metering.QueryInput{Meter: meter, Period: april})
					if a != b {
						t.Errorf("%s: %s in the source, %s after importing twice", meter, a, b)
					}
				}
			})
		})
	}
}

// FuzzQuantity checks the quantity parser never panics and that what it
// accepts prints back to a value it reads the same.
func FuzzQuantity(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-2", "12345678901234567890.123456789012345678", "1e3", " 1", "", ".", "-0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := metering.ParseQuantity(s)
		if err != nil {
			return
		}
		back, err := metering.ParseQuantity(q.String())
		if err != nil || !back.Equal(q) {
			t.Fatalf("%q read as %s, which reads back as %v (%v)", s, q, back, err)
		}
	})
}

// chunked records each write separately.
type chunked struct {
	bytes.Buffer
	writes int
}

func (c *chunked) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// TestExportStreams exports a report of several store pages and checks
// that the streamed document, written event by event, is byte for byte the
// report Encode writes for the same events, and what Export answers.
func TestExportStreams(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		const n = 2500 // two and a half pages
		var in []metering.EventInput
		want := report.Report{CustomerID: "cus_a", CustomerExternalID: "ext_a", Start: april.Start, End: april.End}
		for i := range n {
			// Same times in pairs, so that the order falls to meter and key.
			t0 := at(4, 1+i/100, 0).Add(time.Duration(i/2) * time.Second)
			meter := []string{"sum", "count"}[i%2]
			key := fmt.Sprintf("k-%05d", n-i)
			in = append(in, ev(meter, "1.5", t0, key))
			want.Events = append(want.Events, report.Event{CustomerID: "cus_a", CustomerExternalID: "ext_a", Meter: meter, Quantity: "1.5", Time: t0, IdempotencyKey: key})
		}
		for start := 0; start < n; start += 1000 {
			e.ingest(t, in[start:min(start+1000, n)]...)
		}
		for _, f := range []report.Format{report.JSON, report.XML} {
			var encoded bytes.Buffer
			must(t, report.Encode(&encoded, want, f))
			var streamed chunked
			got, err := e.svc.ExportTo(t.Context(), &streamed, metering.ExportInput{CustomerID: "cus_a", Period: april, Format: f})
			must(t, err)
			if got != n || !bytes.Equal(streamed.Bytes(), encoded.Bytes()) {
				t.Errorf("format %d: streamed %d events, %d bytes; want %d events and Encode's %d bytes", f, got, streamed.Len(), n, encoded.Len())
			}
			if streamed.writes < n {
				t.Errorf("format %d: %d writes, want one per event at least", f, streamed.writes)
			}
			buffered, _, err := e.svc.Export(t.Context(), metering.ExportInput{CustomerID: "cus_a", Period: april, Format: f})
			must(t, err)
			if !bytes.Equal(buffered, encoded.Bytes()) {
				t.Errorf("format %d: Export differs from the stream", f)
			}
		}
	})
}
