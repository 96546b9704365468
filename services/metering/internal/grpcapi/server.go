// Package grpcapi serves the metering service's gRPC API and reads
// customers and features from their services over gRPC: it translates
// protobuf to domain calls and back, nothing else.
package grpcapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// Server implements meteringv1.MeteringServiceServer.
type Server struct {
	meteringv1.UnimplementedMeteringServiceServer
	svc *metering.Service
}

// New returns a Server calling svc.
func New(svc *metering.Service) *Server { return &Server{svc: svc} }

func periodIn(p *commonv1.Period) metering.Period {
	return metering.Period{Start: pbtime.Time(p.GetStart()), End: pbtime.Time(p.GetEnd())}
}

func meterOut(m metering.Meter) *meteringv1.Meter {
	return &meteringv1.Meter{Key: m.Key, FeatureKey: m.Feature, Aggregation: aggregationsOut[m.Aggregation],
		Description: m.Description, CreateTime: pbtime.New(m.CreateTime), FedByQuota: m.FedByQuota}
}

// CreateMeter creates a meter.
func (s *Server) CreateMeter(ctx context.Context, req *meteringv1.CreateMeterRequest) (*meteringv1.CreateMeterResponse, error) {
	m := req.GetMeter()
	out, err := s.svc.CreateMeter(ctx, metering.Meter{Key: m.GetKey(), Feature: m.GetFeatureKey(),
		Aggregation: aggregations[m.GetAggregation()], Description: m.GetDescription(), FedByQuota: m.GetFedByQuota()})
	if err != nil {
		return nil, err
	}
	return &meteringv1.CreateMeterResponse{Meter: meterOut(out)}, nil
}

// GetMeter returns a meter.
func (s *Server) GetMeter(ctx context.Context, req *meteringv1.GetMeterRequest) (*meteringv1.GetMeterResponse, error) {
	m, err := s.svc.GetMeter(ctx, req.GetMeterKey())
	if err != nil {
		return nil, err
	}
	return &meteringv1.GetMeterResponse{Meter: meterOut(m)}, nil
}

// ListMeters lists meters.
func (s *Server) ListMeters(ctx context.Context, req *meteringv1.ListMetersRequest) (*meteringv1.ListMetersResponse, error) {
	p, err := s.svc.ListMeters(ctx, page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &meteringv1.ListMetersResponse{NextPageToken: p.NextToken}
	for _, m := range p.Items {
		res.Meters = append(res.Meters, meterOut(m))
	}
	return res, nil
}

func eventIn(e *meteringv1.UsageEvent) metering.EventInput {
	return metering.EventInput{CustomerID: e.GetCustomerId(), Meter: e.GetMeterKey(), Quantity: e.GetQuantity(),
		Time: eventTime(e.GetTime()), Key: e.GetIdempotencyKey(), Subject: e.GetSubject(), Delta: e.GetDelta(),
		Source: e.GetSource(), Properties: e.GetProperties()}
}

// eventTime converts an event's time, which the server's request check
// does not see (batch items are checked one by one): unset is the zero
// time, which the domain answers as required; a set timestamp that is not
// valid, or is the zero time's instant (0001-01-01T00:00:00Z), becomes a
// time just before it, which the domain answers as out of range.
func eventTime(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	t := ts.AsTime()
	if ts.CheckValid() != nil || t.IsZero() {
		return time.Time{}.Add(-time.Nanosecond)
	}
	return t.UTC()
}

func resultOut(r metering.Result) *meteringv1.EventResult {
	return &meteringv1.EventResult{Index: int32(r.Index), Status: statusesOut[r.Status], EventId: r.EventID,
		Error: reasonsOut[r.Reason], Field: r.Field, Message: r.Message}
}

// Ingest stores one event; a rejected event is an error of the call.
func (s *Server) Ingest(ctx context.Context, req *meteringv1.IngestRequest) (*meteringv1.IngestResponse, error) {
	rs, err := s.svc.Ingest(ctx, "event", []metering.EventInput{eventIn(req.GetEvent())})
	if err != nil {
		return nil, err
	}
	r := rs[0]
	if r.Status == metering.Rejected {
		return nil, rejection(r)
	}
	return &meteringv1.IngestResponse{Result: resultOut(r)}, nil
}

// rejection is the error of a rejected single event.
func rejection(r metering.Result) error {
	switch r.Reason {
	case metering.UnknownMeter, metering.UnknownCustomer:
		return errs.New(errs.NotFound, "%s: %s", r.Field, r.Message)
	case metering.LatePeriodClosed, metering.KeyConflict:
		return errs.New(errs.FailedPrecondition, "%s: %s", r.Field, r.Message)
	}
	return errs.Field(r.Field, "%s", r.Message)
}

// IngestBatch stores events, each with its own result.
func (s *Server) IngestBatch(ctx context.Context, req *meteringv1.IngestBatchRequest) (*meteringv1.IngestBatchResponse, error) {
	return s.batch(ctx, req.GetEvents())
}

func (s *Server) batch(ctx context.Context, events []*meteringv1.UsageEvent) (*meteringv1.IngestBatchResponse, error) {
	in := make([]metering.EventInput, len(events))
	for i, e := range events {
		in[i] = eventIn(e)
	}
	rs, err := s.svc.Ingest(ctx, "events", in)
	if err != nil {
		return nil, err
	}
	res := &meteringv1.IngestBatchResponse{Results: make([]*meteringv1.EventResult, len(rs))}
	for i, r := range rs {
		res.Results[i] = resultOut(r)
		switch r.Status {
		case metering.Accepted:
			res.Accepted++
		case metering.Duplicate:
			res.Duplicates++
		default:
			res.Rejected++
		}
	}
	return res, nil
}

// IngestStream answers each batch of a stream with its results.
func (s *Server) IngestStream(stream meteringv1.MeteringService_IngestStreamServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := s.batch(stream.Context(), req.GetEvents())
		if err != nil {
			return err
		}
		if err := stream.Send(&meteringv1.IngestStreamResponse{Results: res.GetResults()}); err != nil {
			return err
		}
	}
}

// QueryUsage returns usage from the rollups.
func (s *Server) QueryUsage(ctx context.Context, req *meteringv1.QueryUsageRequest) (*meteringv1.QueryUsageResponse, error) {
	w, ok := windows[req.GetWindow()]
	if !ok {
		return nil, errs.Field("window", "is not a known window")
	}
	u, err := s.svc.Query(ctx, metering.QueryInput{CustomerID: req.GetCustomerId(), Meter: req.GetMeterKey(), Feature: req.GetFeatureKey(),
		Period: periodIn(req.GetPeriod()), Window: w, GroupBySubject: req.GetGroupBySubject()})
	if err != nil {
		return nil, err
	}
	res := &meteringv1.QueryUsageResponse{Meter: meterOut(u.Meter), Total: u.Total.String()}
	for _, v := range u.Values {
		res.Values = append(res.Values, &meteringv1.UsageValue{
			Window: &commonv1.Period{Start: pbtime.New(v.Window.Start), End: pbtime.New(v.Window.End)}, Subject: v.Subject, Quantity: v.Quantity.String()})
	}
	return res, nil
}

// BatchQueryUsage returns the usage of many customers in their periods.
func (s *Server) BatchQueryUsage(ctx context.Context, req *meteringv1.BatchQueryUsageRequest) (*meteringv1.BatchQueryUsageResponse, error) {
	qs := make(metering.UsageQueries, len(req.GetQueries()))
	for i, q := range req.GetQueries() {
		qs[i] = metering.UsageQuery{CustomerID: q.GetCustomerId(), Period: periodIn(q.GetPeriod())}
	}
	results, err := s.svc.BatchQuery(ctx, qs)
	if err != nil {
		return nil, err
	}
	res := &meteringv1.BatchQueryUsageResponse{Results: make([]*meteringv1.CustomerUsage, len(results))}
	for i, r := range results {
		cu := &meteringv1.CustomerUsage{CustomerId: r.CustomerID,
			Period: &commonv1.Period{Start: pbtime.New(r.Period.Start), End: pbtime.New(r.Period.End)}}
		for _, u := range r.Usage {
			cu.Usage = append(cu.Usage, &meteringv1.MeterUsage{Meter: meterOut(u.Meter), Total: u.Total.String()})
		}
		res.Results[i] = cu
	}
	return res, nil
}

// formatIn translates a report format.
func formatIn(f meteringv1.ReportFormat) (report.Format, error) {
	out, ok := formats[f]
	if !ok {
		return 0, errs.Field("format", "must be REPORT_FORMAT_JSON or REPORT_FORMAT_XML")
	}
	return out, nil
}

// ExportReport writes a usage report in one message.
func (s *Server) ExportReport(ctx context.Context, req *meteringv1.ExportReportRequest) (*meteringv1.ExportReportResponse, error) {
	f, err := formatIn(req.GetFormat())
	if err != nil {
		return nil, err
	}
	content, n, err := s.svc.Export(ctx, metering.ExportInput{CustomerID: req.GetCustomerId(), Source: req.GetSource(),
		Period: periodIn(req.GetPeriod()), Format: f})
	if err != nil {
		return nil, err
	}
	return &meteringv1.ExportReportResponse{Content: content, ContentType: contentTypes[f], Events: int32(n)}, nil
}

// chunkSize is the most data one ExportUsageReportStream message carries.
const chunkSize = 64 << 10

// ExportUsageReportStream writes a usage report of any size as chunks,
// sent as the document is written.
func (s *Server) ExportUsageReportStream(req *meteringv1.ExportUsageReportStreamRequest, stream meteringv1.MeteringService_ExportUsageReportStreamServer) error {
	f, err := formatIn(req.GetFormat())
	if err != nil {
		return err
	}
	w := &chunker{send: func(data []byte) error {
		return stream.Send(&meteringv1.ExportUsageReportStreamResponse{Data: data, ContentType: contentTypes[f]})
	}}
	_, err = s.svc.ExportTo(stream.Context(), w, metering.ExportInput{CustomerID: req.GetCustomerId(), Source: req.GetSource(),
		Period: periodIn(req.GetPeriod()), Format: f})
	if err != nil {
		return err
	}
	return w.flush()
}

// chunker collects writes into chunks of chunkSize and sends each when it
// is full.
type chunker struct {
	buf  []byte
	send func([]byte) error
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if c.buf == nil {
			c.buf = make([]byte, 0, chunkSize)
		}
		k := min(len(p), chunkSize-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == chunkSize {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush sends what was written since the last chunk, if anything.
func (c *chunker) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.send(c.buf)
	c.buf = nil // the message may still hold the bytes
	return err
}

// ImportReport ingests a usage report.
func (s *Server) ImportReport(ctx context.Context, req *meteringv1.ImportReportRequest) (*meteringv1.ImportReportResponse, error) {
	c, err := s.importReport(ctx, req.GetContent(), req.GetFormat())
	if err != nil {
		return nil, err
	}
	return &meteringv1.ImportReportResponse{Accepted: c.accepted, Duplicates: c.duplicates, Rejected: c.rejected, Rejections: c.rejections}, nil
}

// ImportUsageReportStream ingests a report document sent in chunks; it
// holds at most report.MaxSize bytes of it.
func (s *Server) ImportUsageReportStream(stream meteringv1.MeteringService_ImportUsageReportStreamServer) error {
	var doc bytes.Buffer
	var format meteringv1.ReportFormat
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if first {
			format = msg.GetFormat()
		}
		if doc.Len()+len(msg.GetData()) > report.MaxSize {
			return errs.Field("data", "the document is larger than %d MiB", report.MaxSize>>20)
		}
		doc.Write(msg.GetData())
	}
	c, err := s.importReport(stream.Context(), doc.Bytes(), format)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&meteringv1.ImportUsageReportStreamResponse{
		Accepted: c.accepted, Duplicates: c.duplicates, Rejected: c.rejected, Rejections: c.rejections})
}

// imported counts the results of an import.
type imported struct {
	accepted, duplicates, rejected int32
	rejections                     []*meteringv1.EventResult
}

func (s *Server) importReport(ctx context.Context, content []byte, format meteringv1.ReportFormat) (imported, error) {
	f, err := formatIn(format)
	if err != nil {
		return imported{}, err
	}
	rs, err := s.svc.Import(ctx, content, f)
	if err != nil {
		return imported{}, err
	}
	var c imported
	for _, r := range rs {
		switch r.Status {
		case metering.Accepted:
			c.accepted++
		case metering.Duplicate:
			c.duplicates++
		default:
			c.rejected++
			c.rejections = append(c.rejections, resultOut(r))
		}
	}
	return c, nil
}

// MarkComplete records a completeness mark.
func (s *Server) MarkComplete(ctx context.Context, req *meteringv1.MarkCompleteRequest) (*meteringv1.MarkCompleteResponse, error) {
	if err := s.svc.MarkComplete(ctx, metering.MarkCompleteInput{Source: req.GetSource(), CustomerID: req.GetCustomerId(), Period: periodIn(req.GetPeriod())}); err != nil {
		return nil, err
	}
	return &meteringv1.MarkCompleteResponse{}, nil
}

// GetCompleteness says whether a period's usage is complete.
func (s *Server) GetCompleteness(ctx context.Context, req *meteringv1.GetCompletenessRequest) (*meteringv1.GetCompletenessResponse, error) {
	c, err := s.svc.Completeness(ctx, req.GetCustomerId(), periodIn(req.GetPeriod()))
	if err != nil {
		return nil, err
	}
	return &meteringv1.GetCompletenessResponse{Complete: c.Complete, Sources: c.Sources, Pending: c.Pending}, nil
}

// ListQuarantinedBatches lists the batches the fold moved aside.
func (s *Server) ListQuarantinedBatches(ctx context.Context, req *meteringv1.ListQuarantinedBatchesRequest) (*meteringv1.ListQuarantinedBatchesResponse, error) {
	p, err := s.svc.ListQuarantined(ctx, page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &meteringv1.ListQuarantinedBatchesResponse{NextPageToken: p.NextToken}
	for _, q := range p.Items {
		res.Batches = append(res.Batches, &meteringv1.QuarantinedBatch{BatchId: q.BatchID, Error: q.Error, QuarantineTime: pbtime.New(q.Time)})
	}
	return res, nil
}

// ClosePeriod refuses a customer's events before a time.
func (s *Server) ClosePeriod(ctx context.Context, req *meteringv1.ClosePeriodRequest) (*meteringv1.ClosePeriodResponse, error) {
	t, err := s.svc.ClosePeriod(ctx, metering.ClosePeriodInput{CustomerID: req.GetCustomerId(), Before: pbtime.Time(req.GetClosedBefore())})
	if err != nil {
		return nil, err
	}
	return &meteringv1.ClosePeriodResponse{ClosedBefore: pbtime.New(t)}, nil
}

// BatchClosePeriod refuses the events of several customers before their
// times.
func (s *Server) BatchClosePeriod(ctx context.Context, req *meteringv1.BatchClosePeriodRequest) (*meteringv1.BatchClosePeriodResponse, error) {
	in := make(metering.ClosePeriodInputs, len(req.GetClosings()))
	for i, c := range req.GetClosings() {
		in[i] = metering.ClosePeriodInput{CustomerID: c.GetCustomerId(), Before: pbtime.Time(c.GetClosedBefore())}
	}
	closed, err := s.svc.BatchClosePeriod(ctx, in)
	if err != nil {
		return nil, err
	}
	res := &meteringv1.BatchClosePeriodResponse{Closings: make([]*meteringv1.PeriodClosing, len(closed))}
	for i, t := range closed {
		res.Closings[i] = &meteringv1.PeriodClosing{CustomerId: in[i].CustomerID, ClosedBefore: pbtime.New(t)}
	}
	return res, nil
}
