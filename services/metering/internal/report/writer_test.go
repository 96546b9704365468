package report_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// chunks records each write separately, as a download's chunks.
type chunks struct {
	b      bytes.Buffer
	writes int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.writes++
	return c.b.Write(p)
}

// TestWriterIsEncode checks that writing a report event by event gives the
// bytes Encode gives, in both formats, with and without events.
func TestWriterIsEncode(t *testing.T) {
	t.Parallel()
	empty := func() report.Report {
		r := customerReport()
		r.Events = nil
		return r
	}
	for _, tt := range append(goldens[:len(goldens):len(goldens)],
		struct {
			name   string
			file   string
			report func() report.Report
			format report.Format
		}{"no events in JSON", "", empty, report.JSON},
		struct {
			name   string
			file   string
			report func() report.Report
			format report.Format
		}{"no events in XML", "", empty, report.XML}) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.report()
			want := encode(t, r, tt.format)
			var got chunks
			w, err := report.NewWriter(&got, r, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			// The canonical order is the order of the encoded document.
			sorted, err := report.Decode(want, tt.format)
			must(err)
			for _, e := range sorted.Events {
				must(w.Write(e))
			}
			must(w.Close())
			if !bytes.Equal(got.b.Bytes(), want) {
				t.Errorf("written\n%s\nEncode\n%s", got.b.Bytes(), want)
			}
			if got.writes != len(r.Events)+2 {
				t.Errorf("%d writes, want one per event and two more", got.writes)
			}
		})
	}
}

// TestWriterRefusesDisorder checks that the Writer refuses an event out of
// the canonical order and an event Encode would refuse.
func TestWriterRefusesDisorder(t *testing.T) {
	t.Parallel()
	r := customerReport()
	w, err := report.NewWriter(new(bytes.Buffer), r, report.JSON)
	if err != nil {
		t.Fatal(err)
	}
	late, early := r.Events[0], r.Events[1] // 23:59 and 00:00
	if err := w.Write(late); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(early); err == nil || !strings.Contains(err.Error(), "events[1]: out of the canonical order") {
		t.Errorf("an earlier event after a later one: %v", err)
	}
	bad := late
	bad.Quantity = "1e3"
	if err := w.Write(bad); err == nil || !strings.Contains(err.Error(), "quantity") {
		t.Errorf("a bad quantity: %v", err)
	}
}
