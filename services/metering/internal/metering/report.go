package metering

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// exportPage is how many events an export reads from the store at once.
const exportPage = 1000

// MaxBufferedReport is the largest report ExportReport answers in one
// message; a larger one is downloaded with ExportTo (a stream).
const MaxBufferedReport = 3 << 20

// ExportTo writes the events of a customer, or of a source, in a period as
// a usage report to w, reading them from the store a page at a time and
// writing each as it is read, so that a report of any size streams in
// constant memory. The report is canonical: exporting what an export
// imported gives the same bytes. Each event carries its customer's
// external id, if the customer has one, so that another installation can
// import it. It returns how many events it wrote.
//
// Pages are read one after the other, not in one snapshot: an event
// ingested into the period while the export runs may be left out. Export a
// closed period for a report that does not change.
func (s *Service) ExportTo(ctx context.Context, w io.Writer, in ExportInput) (int, error) {
	if err := in.Validate(); err != nil {
		return 0, err
	}
	p := Period{Start: in.Period.Start.UTC(), End: in.Period.End.UTC()}
	r := report.Report{Source: in.Source, CustomerID: in.CustomerID, Start: p.Start, End: p.End}
	external := map[string]string{}
	if in.CustomerID != "" {
		ext, err := s.customers.ExternalIDs(ctx, []string{in.CustomerID})
		if err != nil {
			return 0, err
		}
		id, ok := ext[in.CustomerID]
		if !ok {
			return 0, errs.New(errs.NotFound, "customer %q not found", in.CustomerID)
		}
		r.CustomerExternalID = id
		external = ext
	}
	rw, err := report.NewWriter(w, r, in.Format)
	if err != nil {
		return 0, err
	}
	var after *Event
	for {
		events, err := s.store.EventsAfter(ctx, in.CustomerID, in.Source, p, after, exportPage)
		if err != nil {
			return rw.Events(), err
		}
		if err := s.externalIDs(ctx, events, external); err != nil {
			return rw.Events(), err
		}
		for _, e := range events {
			err := rw.Write(report.Event{
				CustomerID: e.CustomerID, CustomerExternalID: external[e.CustomerID], Meter: e.Meter, Quantity: e.Quantity.String(),
				Time: e.Time, IdempotencyKey: e.Key, Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: e.Properties,
			})
			if err != nil {
				return rw.Events(), fmt.Errorf("metering: export event %s: %w", e.ID, err)
			}
		}
		if len(events) < exportPage {
			break
		}
		after = &events[len(events)-1]
	}
	return rw.Events(), rw.Close()
}

// externalIDs adds to known the external ids of the customers of events
// not in it yet.
func (s *Service) externalIDs(ctx context.Context, events []Event, known map[string]string) error {
	var ids []string
	for _, e := range events {
		if _, ok := known[e.CustomerID]; !ok && !slices.Contains(ids, e.CustomerID) {
			ids = append(ids, e.CustomerID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ext, err := s.customers.ExternalIDs(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		known[id] = ext[id] // "" for a customer that is gone or has none
	}
	return nil
}

// Export writes a usage report like ExportTo, into memory: a report larger
// than MaxBufferedReport is refused (download it as a stream instead). It
// returns the report and how many events it holds.
func (s *Service) Export(ctx context.Context, in ExportInput) ([]byte, int, error) {
	var b capped
	n, err := s.ExportTo(ctx, &b, in)
	if b.over {
		return nil, 0, errs.New(errs.FailedPrecondition,
			"the report is larger than %d MiB: download it with ExportUsageReportStream (GET /v1/usageReports:download)", MaxBufferedReport>>20)
	}
	if err != nil {
		return nil, 0, err
	}
	return b.Bytes(), n, nil
}

// capped is a buffer that refuses to grow beyond MaxBufferedReport.
type capped struct {
	bytes.Buffer
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > MaxBufferedReport {
		c.over = true
		return 0, errs.New(errs.FailedPrecondition, "report too large")
	}
	return c.Buffer.Write(p)
}

// Import ingests the events of a usage report. Events without a source get
// the report's. An event's customer is its customer id when this
// installation knows it, else the customer with the event's (or the
// customer report's) external id: so a report exported by another
// installation imports here. Importing a report again changes nothing: its
// events are duplicates.
func (s *Service) Import(ctx context.Context, content []byte, f report.Format) ([]Result, error) {
	r, err := report.Decode(content, f)
	if err != nil {
		return nil, errs.Field("content", "%s", err.Error())
	}
	if err := s.resolveCustomers(ctx, &r); err != nil {
		return nil, err
	}
	var results []Result
	for start := 0; start < len(r.Events); start += MaxBatch {
		chunk := r.Events[start:min(start+MaxBatch, len(r.Events))]
		in := make([]EventInput, len(chunk))
		for i, e := range chunk {
			src := e.Source
			if src == "" {
				src = r.Source
			}
			in[i] = EventInput{CustomerID: e.CustomerID, Meter: e.Meter, Quantity: e.Quantity, Time: e.Time, Key: e.IdempotencyKey,
				Subject: e.Subject, Delta: e.Delta, Source: src, Properties: e.Properties}
		}
		res, err := s.Ingest(ctx, "events", in)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			r.Index += start
			results = append(results, r)
		}
	}
	return results, nil
}

// resolveCustomers replaces, in r's events, the customer ids this
// installation does not know by the ids of the customers with the events'
// external ids, where one has it.
func (s *Service) resolveCustomers(ctx context.Context, r *report.Report) error {
	var ids []string
	seen := map[string]bool{}
	for _, e := range r.Events {
		if !seen[e.CustomerID] {
			seen[e.CustomerID] = true
			ids = append(ids, e.CustomerID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, err := s.customers.Known(ctx, ids)
	if err != nil {
		return err
	}
	var externals []string
	seenExt := map[string]bool{}
	for i, e := range r.Events {
		if e.CustomerExternalID == "" && e.CustomerID == r.CustomerID {
			r.Events[i].CustomerExternalID = r.CustomerExternalID
		}
		if ext := r.Events[i].CustomerExternalID; !known[e.CustomerID] && ext != "" && !seenExt[ext] {
			seenExt[ext] = true
			externals = append(externals, ext)
		}
	}
	if len(externals) == 0 {
		return nil
	}
	byExternal, err := s.customers.ByExternalID(ctx, externals)
	if err != nil {
		return err
	}
	for i, e := range r.Events {
		if id, ok := byExternal[e.CustomerExternalID]; ok && !known[e.CustomerID] {
			r.Events[i].CustomerID = id
		}
	}
	return nil
}
