package peers

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// Source is the source of the events quota reports to metering; a meter
// fed by quota takes no other.
const Source = "quota"

// Metering reports gauge levels to the metering service (the feed of
// gauge meters fed by quota).
type Metering struct {
	client meteringv1.MeteringServiceClient
}

var _ quota.Metering = (*Metering)(nil)

// NewMetering returns Metering calling the metering service on conn.
func NewMetering(conn grpc.ClientConnInterface) *Metering {
	return &Metering{client: meteringv1.NewMeteringServiceClient(conn)}
}

// FedMeters implements quota.Metering, listing every meter.
func (m *Metering) FedMeters(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	token := ""
	for {
		res, err := m.client.ListMeters(ctx, &meteringv1.ListMetersRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return nil, peer.Failed("metering", "ListMeters", err)
		}
		for _, mt := range res.GetMeters() {
			if mt.GetFedByQuota() {
				out[mt.GetFeatureKey()] = mt.GetKey()
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// Report implements quota.Metering with one IngestBatch.
func (m *Metering) Report(ctx context.Context, events []quota.FeedEvent, meterOf map[string]string) ([]error, error) {
	req := &meteringv1.IngestBatchRequest{Events: make([]*meteringv1.UsageEvent, len(events))}
	for i, e := range events {
		req.Events[i] = &meteringv1.UsageEvent{CustomerId: e.CustomerID, MeterKey: meterOf[e.Feature], Quantity: e.Level.String(),
			Time: timestamppb.New(e.Time), IdempotencyKey: e.ID, Subject: e.Subject, Source: Source}
	}
	res, err := m.client.IngestBatch(ctx, req)
	if err != nil {
		return nil, peer.Failed("metering", "IngestBatch", err)
	}
	if len(res.GetResults()) != len(events) {
		return nil, fmt.Errorf("peers: metering answered %d results for %d events", len(res.GetResults()), len(events))
	}
	out := make([]error, len(events))
	for i, r := range res.GetResults() {
		if r.GetStatus() == meteringv1.EventStatus_EVENT_STATUS_REJECTED {
			out[i] = errors.New(r.GetError().String() + ": " + r.GetField() + ": " + r.GetMessage())
		}
	}
	return out, nil
}
