package metering

import (
	"bytes"
	"context"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// Export writes the events of a customer, or of a source, in p as a usage
// report. The report is canonical: exporting what an export imported gives
// the same bytes.
func (s *Service) Export(ctx context.Context, customerID, source string, p Period, f report.Format) ([]byte, int, error) {
	if (customerID == "") == (source == "") {
		return nil, 0, errs.Field("customer_id", "exactly one of customer_id and source must be set")
	}
	if err := checkPeriod("period", p); err != nil {
		return nil, 0, err
	}
	events, err := s.store.Events(ctx, customerID, source, p)
	if err != nil {
		return nil, 0, err
	}
	r := report.Report{Source: source, CustomerID: customerID, Start: p.Start.UTC(), End: p.End.UTC()}
	for _, e := range events {
		r.Events = append(r.Events, report.Event{
			CustomerID: e.CustomerID, Meter: e.Meter, Quantity: e.Quantity.String(), Time: e.Time,
			IdempotencyKey: e.Key, Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: e.Properties,
		})
	}
	var buf bytes.Buffer
	if err := report.Encode(&buf, r, f); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), len(events), nil
}

// Import ingests the events of a usage report. Events without a source get
// the report's. Importing a report again changes nothing: its events are
// duplicates.
func (s *Service) Import(ctx context.Context, content []byte, f report.Format) ([]Result, error) {
	r, err := report.Decode(content, f)
	if err != nil {
		return nil, errs.Field("content", "%s", err.Error())
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
