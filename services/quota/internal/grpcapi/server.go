// Package grpcapi serves the quota service's gRPC API: it translates
// protobuf to domain calls and back, nothing else.
package grpcapi

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// Server implements quotav1.QuotaServiceServer.
type Server struct {
	quotav1.UnimplementedQuotaServiceServer
	svc       *quota.Service
	decisions *decisions
}

// New returns a Server calling svc that counts its decisions with meter.
func New(svc *quota.Service, meter metric.Meter) (*Server, error) {
	d, err := newDecisions(meter)
	if err != nil {
		return nil, err
	}
	return &Server{svc: svc, decisions: d}, nil
}

// RegisterGateway registers the HTTP/JSON handlers of the service.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	return quotav1.RegisterQuotaServiceHandler(ctx, mux, conn)
}

func itemsIn(in []*quotav1.Item) []quota.ItemInput {
	out := make([]quota.ItemInput, len(in))
	for i, it := range in {
		out[i] = quota.ItemInput{Feature: it.GetFeatureKey(), Quantity: it.GetQuantity()}
	}
	return out
}

func itemResultOut(r quota.ItemResult) *quotav1.ItemResult {
	out := &quotav1.ItemResult{FeatureKey: r.Feature, Quantity: r.Quantity.String(), Allowed: r.Allowed,
		Reason: reasonsOut[r.Reason], LimitPolicy: policiesOut[r.Policy], Used: r.Used.String(), Reserved: r.Reserved.String()}
	if r.Policy != quota.PolicyNone {
		out.Limit, out.Remaining = r.Limit.String(), r.Remaining().String()
	}
	if r.Counter {
		out.Period = &commonv1.Period{Start: pbtime.New(r.Period.Start), End: pbtime.New(r.Period.End)}
		out.ResetTime = pbtime.New(r.Period.End)
	}
	return out
}

func resultOut(res quota.Result) []*quotav1.ItemResult {
	out := make([]*quotav1.ItemResult, len(res.Items))
	for i, r := range res.Items {
		out[i] = itemResultOut(r)
	}
	return out
}

func reservationOut(r quota.Reservation) *quotav1.Reservation {
	out := &quotav1.Reservation{ReservationId: r.ID, CustomerId: r.CustomerID, Status: statusesOut[r.Status],
		ExpireTime: pbtime.New(r.ExpireTime), Subjects: r.Subjects, IdempotencyKey: r.Key}
	for _, it := range r.Items {
		out.Items = append(out.Items, &quotav1.Item{FeatureKey: it.Feature, Quantity: it.Quantity.String()})
	}
	return out
}

// CheckQuota answers whether items would be admitted.
func (s *Server) CheckQuota(ctx context.Context, req *quotav1.CheckQuotaRequest) (*quotav1.CheckQuotaResponse, error) {
	res, err := s.svc.Check(ctx, quota.CheckInput{CustomerID: req.GetCustomerId(), Items: itemsIn(req.GetItems())})
	if err != nil {
		return nil, err
	}
	s.decisions.add(ctx, opCheck, res)
	return &quotav1.CheckQuotaResponse{Allowed: res.Allowed, Items: resultOut(res)}, nil
}

// Reserve holds items, or answers the denial.
func (s *Server) Reserve(ctx context.Context, req *quotav1.ReserveRequest) (*quotav1.ReserveResponse, error) {
	res, r, err := s.svc.Reserve(ctx, quota.ReserveInput{CustomerID: req.GetCustomerId(), Items: itemsIn(req.GetItems()),
		TTL: req.GetTtl().AsDuration(), Key: req.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	s.decisions.add(ctx, opReserve, res)
	out := &quotav1.ReserveResponse{Allowed: res.Allowed, Items: resultOut(res)}
	if res.Allowed {
		out.Reservation = reservationOut(r)
	}
	return out, nil
}

// Commit turns a reservation into allocations.
func (s *Server) Commit(ctx context.Context, req *quotav1.CommitRequest) (*quotav1.CommitResponse, error) {
	r, err := s.svc.Commit(ctx, quota.CommitInput{ReservationID: req.GetReservationId(), Subjects: req.GetSubjects()})
	if err != nil {
		return nil, err
	}
	return &quotav1.CommitResponse{Reservation: reservationOut(r)}, nil
}

// Release gives a reservation back.
func (s *Server) Release(ctx context.Context, req *quotav1.ReleaseRequest) (*quotav1.ReleaseResponse, error) {
	r, err := s.svc.Release(ctx, req.GetReservationId())
	if err != nil {
		return nil, err
	}
	return &quotav1.ReleaseResponse{Reservation: reservationOut(r)}, nil
}

// GetQuotaStatus returns every entitled feature's state.
func (s *Server) GetQuotaStatus(ctx context.Context, req *quotav1.GetQuotaStatusRequest) (*quotav1.GetQuotaStatusResponse, error) {
	plan, items, err := s.svc.Status(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	out := &quotav1.GetQuotaStatusResponse{HasPlan: plan}
	for _, r := range items {
		out.Features = append(out.Features, itemResultOut(r))
	}
	return out, nil
}
