package grpcapi

import (
	"context"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

func overrideOut(o quota.Override) *quotav1.Override {
	return &quotav1.Override{OverrideId: o.ID, CustomerId: o.CustomerID, FeatureKey: o.Feature, Extra: o.Extra.String(),
		ExpireTime: pbtime.New(o.ExpireTime), Reason: o.Reason, CreateTime: pbtime.New(o.CreateTime)}
}

// SetOverride adds a top-up to a customer's limit.
func (s *Server) SetOverride(ctx context.Context, req *quotav1.SetOverrideRequest) (*quotav1.SetOverrideResponse, error) {
	o, err := s.svc.SetOverride(ctx, quota.OverrideInput{CustomerID: req.GetCustomerId(), Feature: req.GetFeatureKey(),
		Extra: req.GetExtra(), ExpireTime: pbtime.Time(req.GetExpireTime()), Reason: req.GetReason(), IdempotencyKey: req.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	return &quotav1.SetOverrideResponse{Override: overrideOut(o)}, nil
}

// ListOverrides lists a customer's overrides.
func (s *Server) ListOverrides(ctx context.Context, req *quotav1.ListOverridesRequest) (*quotav1.ListOverridesResponse, error) {
	p, err := s.svc.ListOverrides(ctx, req.GetCustomerId(), page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &quotav1.ListOverridesResponse{NextPageToken: p.NextToken}
	for _, o := range p.Items {
		out.Overrides = append(out.Overrides, overrideOut(o))
	}
	return out, nil
}

// DeleteOverride ends an override.
func (s *Server) DeleteOverride(ctx context.Context, req *quotav1.DeleteOverrideRequest) (*quotav1.DeleteOverrideResponse, error) {
	o, err := s.svc.DeleteOverride(ctx, req.GetCustomerId(), req.GetOverrideId())
	if err != nil {
		return nil, err
	}
	return &quotav1.DeleteOverrideResponse{Override: overrideOut(o)}, nil
}
