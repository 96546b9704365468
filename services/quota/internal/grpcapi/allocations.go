package grpcapi

import (
	"context"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

func allocationOut(a quota.Allocation) *quotav1.Allocation {
	return &quotav1.Allocation{CustomerId: a.CustomerID, FeatureKey: a.Feature, Subject: a.Subject, ReservationId: a.ReservationID,
		Quantity: a.Quantity.String(), CreateTime: pbtime.New(a.CreateTime)}
}

func itemsOut(in []quota.Item) []*quotav1.Item {
	out := make([]*quotav1.Item, len(in))
	for i, it := range in {
		out[i] = &quotav1.Item{FeatureKey: it.Feature, Quantity: it.Quantity.String()}
	}
	return out
}

// Deallocate removes a subject's allocations of a feature.
func (s *Server) Deallocate(ctx context.Context, req *quotav1.DeallocateRequest) (*quotav1.DeallocateResponse, error) {
	d, err := s.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: req.GetCustomerId(), Feature: req.GetFeatureKey(),
		Subject: req.GetSubject(), Key: req.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	out := &quotav1.DeallocateResponse{}
	for _, a := range d.Allocations {
		out.Allocations = append(out.Allocations, allocationOut(a))
	}
	return out, nil
}

// ListAllocations lists a customer's allocations.
func (s *Server) ListAllocations(ctx context.Context, req *quotav1.ListAllocationsRequest) (*quotav1.ListAllocationsResponse, error) {
	p, err := s.svc.ListAllocations(ctx, req.GetCustomerId(), req.GetFeatureKey(),
		page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &quotav1.ListAllocationsResponse{NextPageToken: p.NextToken}
	for _, a := range p.Items {
		out.Allocations = append(out.Allocations, allocationOut(a))
	}
	return out, nil
}

// Rebuild reloads a customer's admission state from the database.
func (s *Server) Rebuild(ctx context.Context, req *quotav1.RebuildRequest) (*quotav1.RebuildResponse, error) {
	l, err := s.svc.Rebuild(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	return &quotav1.RebuildResponse{Used: itemsOut(l.Used), Reserved: itemsOut(l.Reserved), LiveReservations: int32(l.Live)}, nil
}
