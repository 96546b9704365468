// Package grpcapi serves the subscription service's gRPC API and reads the
// catalog over gRPC: it translates protobuf to domain calls and back,
// nothing else. Errors leave unchanged; the shared server maps their kinds
// to codes.
package grpcapi

import (
	"context"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

// Server implements subscriptionv1.SubscriptionServiceServer.
type Server struct {
	subscriptionv1.UnimplementedSubscriptionServiceServer
	svc *subscription.Service
}

// New returns a Server calling svc.
func New(svc *subscription.Service) *Server { return &Server{svc: svc} }

// CreateCustomer creates a customer.
func (s *Server) CreateCustomer(ctx context.Context, req *subscriptionv1.CreateCustomerRequest) (*subscriptionv1.CreateCustomerResponse, error) {
	c := req.GetCustomer()
	out, err := s.svc.CreateCustomer(ctx, subscription.CustomerInput{
		ExternalID: c.GetExternalId(), Name: c.GetName(), Email: c.GetEmail(), Currency: c.GetCurrency(),
		Anchor: anchorIn(c.GetBillingAnchor()), ParentID: c.GetParentCustomerId(),
	})
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.CreateCustomerResponse{Customer: customerOut(out)}, nil
}

// GetCustomer returns a customer.
func (s *Server) GetCustomer(ctx context.Context, req *subscriptionv1.GetCustomerRequest) (*subscriptionv1.GetCustomerResponse, error) {
	c, err := s.svc.GetCustomer(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.GetCustomerResponse{Customer: customerOut(c)}, nil
}

// ListCustomers lists customers.
func (s *Server) ListCustomers(ctx context.Context, req *subscriptionv1.ListCustomersRequest) (*subscriptionv1.ListCustomersResponse, error) {
	p, err := s.svc.ListCustomers(ctx,
		subscription.CustomerFilter{ExternalID: req.GetExternalId(), ParentID: req.GetParentCustomerId()},
		page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListCustomersResponse{NextPageToken: p.NextToken}
	for _, c := range p.Items {
		res.Customers = append(res.Customers, customerOut(c))
	}
	return res, nil
}

// UpdateCustomer changes the fields set in the request.
func (s *Server) UpdateCustomer(ctx context.Context, req *subscriptionv1.UpdateCustomerRequest) (*subscriptionv1.UpdateCustomerResponse, error) {
	in := subscription.CustomerUpdate{
		ID: req.GetCustomerId(), ExternalID: req.ExternalId, Name: req.Name, Email: req.Email,
		Currency: req.Currency, ParentID: req.ParentCustomerId,
	}
	if req.BillingAnchor != nil {
		a := anchorIn(req.GetBillingAnchor())
		in.Anchor = &a
	}
	c, err := s.svc.UpdateCustomer(ctx, in)
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.UpdateCustomerResponse{Customer: customerOut(c)}, nil
}

// Subscribe subscribes a customer to a plan.
func (s *Server) Subscribe(ctx context.Context, req *subscriptionv1.SubscribeRequest) (*subscriptionv1.SubscribeResponse, error) {
	v, err := s.svc.Subscribe(ctx, subscription.SubscribeInput{
		CustomerID: req.GetCustomerId(), Plan: req.GetPlanId(), Version: req.GetPlanVersion(), Quantity: req.GetQuantity(),
		Start: pbtime.Time(req.GetStartTime()), BackdateReason: req.GetBackdateReason(), TrialDays: req.GetTrialDays(),
		BillSeparately: req.GetBillSeparately(),
	})
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.SubscribeResponse{Subscription: subscriptionOut(v)}, nil
}

// GetSubscription returns a subscription.
func (s *Server) GetSubscription(ctx context.Context, req *subscriptionv1.GetSubscriptionRequest) (*subscriptionv1.GetSubscriptionResponse, error) {
	v, err := s.svc.GetSubscription(ctx, req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.GetSubscriptionResponse{Subscription: subscriptionOut(v)}, nil
}

// ListSubscriptions lists a customer's subscriptions.
func (s *Server) ListSubscriptions(ctx context.Context, req *subscriptionv1.ListSubscriptionsRequest) (*subscriptionv1.ListSubscriptionsResponse, error) {
	p, err := s.svc.ListSubscriptions(ctx, req.GetCustomerId(), page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListSubscriptionsResponse{NextPageToken: p.NextToken}
	for _, v := range p.Items {
		res.Subscriptions = append(res.Subscriptions, subscriptionOut(v))
	}
	return res, nil
}

// ChangePlan moves a subscription to another plan version.
func (s *Server) ChangePlan(ctx context.Context, req *subscriptionv1.ChangePlanRequest) (*subscriptionv1.ChangePlanResponse, error) {
	v, c, err := s.svc.ChangePlan(ctx, subscription.ChangePlanInput{
		SubscriptionID: req.GetSubscriptionId(), Plan: req.GetPlanId(), Version: req.GetPlanVersion(),
		When: whenIn(req.GetTiming(), req.GetEffectiveTime(), req.GetBackdateReason()),
	})
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.ChangePlanResponse{Subscription: subscriptionOut(v), Change: changeOut(c)}, nil
}

// ChangeQuantity changes a subscription's quantity.
func (s *Server) ChangeQuantity(ctx context.Context, req *subscriptionv1.ChangeQuantityRequest) (*subscriptionv1.ChangeQuantityResponse, error) {
	v, c, err := s.svc.ChangeQuantity(ctx, subscription.ChangeQuantityInput{
		SubscriptionID: req.GetSubscriptionId(), Quantity: req.GetQuantity(),
		When: whenIn(req.GetTiming(), req.GetEffectiveTime(), req.GetBackdateReason()),
	})
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.ChangeQuantityResponse{Subscription: subscriptionOut(v), Change: changeOut(c)}, nil
}

// CancelSubscription ends a subscription.
func (s *Server) CancelSubscription(ctx context.Context, req *subscriptionv1.CancelSubscriptionRequest) (*subscriptionv1.CancelSubscriptionResponse, error) {
	v, c, err := s.svc.Cancel(ctx, req.GetSubscriptionId(), whenIn(req.GetTiming(), req.GetEffectiveTime(), req.GetBackdateReason()))
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.CancelSubscriptionResponse{Subscription: subscriptionOut(v), Change: changeOut(c)}, nil
}

// ReactivateSubscription withdraws a pending cancellation.
func (s *Server) ReactivateSubscription(ctx context.Context, req *subscriptionv1.ReactivateSubscriptionRequest) (*subscriptionv1.ReactivateSubscriptionResponse, error) {
	v, err := s.svc.Reactivate(ctx, req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.ReactivateSubscriptionResponse{Subscription: subscriptionOut(v)}, nil
}

// ListScheduledChanges lists changes that have not taken effect.
func (s *Server) ListScheduledChanges(ctx context.Context, req *subscriptionv1.ListScheduledChangesRequest) (*subscriptionv1.ListScheduledChangesResponse, error) {
	p, err := s.svc.ScheduledChanges(ctx, req.GetSubscriptionId(), page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListScheduledChangesResponse{NextPageToken: p.NextToken}
	for _, c := range p.Items {
		res.Changes = append(res.Changes, changeOut(c))
	}
	return res, nil
}

// ListSubscriptionChanges lists every recorded change of a subscription.
func (s *Server) ListSubscriptionChanges(ctx context.Context, req *subscriptionv1.ListSubscriptionChangesRequest) (*subscriptionv1.ListSubscriptionChangesResponse, error) {
	p, err := s.svc.Changes(ctx, req.GetSubscriptionId(), page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListSubscriptionChangesResponse{NextPageToken: p.NextToken}
	for _, c := range p.Items {
		res.Changes = append(res.Changes, changeOut(c))
	}
	return res, nil
}

// CancelScheduledChange withdraws a change that has not taken effect.
func (s *Server) CancelScheduledChange(ctx context.Context, req *subscriptionv1.CancelScheduledChangeRequest) (*subscriptionv1.CancelScheduledChangeResponse, error) {
	v, err := s.svc.CancelScheduledChange(ctx, req.GetSubscriptionId(), req.GetChangeId())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.CancelScheduledChangeResponse{Subscription: subscriptionOut(v)}, nil
}

// ListSegments returns the segments overlapping a period.
func (s *Server) ListSegments(ctx context.Context, req *subscriptionv1.ListSegmentsRequest) (*subscriptionv1.ListSegmentsResponse, error) {
	p, err := s.svc.Segments(ctx, req.GetCustomerId(), req.GetSubscriptionId(), periodIn(req.GetPeriod()),
		page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListSegmentsResponse{NextPageToken: p.NextToken}
	for _, sg := range p.Items {
		res.Segments = append(res.Segments, segmentOut(sg))
	}
	return res, nil
}

// GetEntitlements returns a customer's effective limits.
func (s *Server) GetEntitlements(ctx context.Context, req *subscriptionv1.GetEntitlementsRequest) (*subscriptionv1.GetEntitlementsResponse, error) {
	e, err := s.svc.Entitlements(ctx, req.GetCustomerId(), pbtime.Time(req.GetAt()))
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.GetEntitlementsResponse{ActiveSubscriptions: int32(e.Active), At: pbtime.New(e.At),
		ValidUntil: pbtime.New(e.ValidUntil)}
	for _, item := range e.Items {
		res.Entitlements = append(res.Entitlements, entitlementOut(item))
	}
	return res, nil
}

// GetBillingPeriod returns the customer's billing period at a time.
func (s *Server) GetBillingPeriod(ctx context.Context, req *subscriptionv1.GetBillingPeriodRequest) (*subscriptionv1.GetBillingPeriodResponse, error) {
	p, iv, err := s.svc.BillingPeriod(ctx, req.GetCustomerId(), pbtime.Time(req.GetAt()))
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.GetBillingPeriodResponse{Period: periodOut(p), BillingInterval: intervalOut(iv)}, nil
}

// ListDuePeriods lists ended billing periods.
func (s *Server) ListDuePeriods(ctx context.Context, req *subscriptionv1.ListDuePeriodsRequest) (*subscriptionv1.ListDuePeriodsResponse, error) {
	p, err := s.svc.DuePeriods(ctx, pbtime.Time(req.GetAsOf()), pbtime.Time(req.GetEndedAfter()),
		page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListDuePeriodsResponse{NextPageToken: p.NextToken}
	for _, d := range p.Items {
		res.DuePeriods = append(res.DuePeriods, &subscriptionv1.DuePeriod{CustomerId: d.CustomerID, Currency: d.Currency, Period: periodOut(d.Period)})
	}
	return res, nil
}

// BatchGetBillingData returns many customers and their segments in periods.
func (s *Server) BatchGetBillingData(ctx context.Context, req *subscriptionv1.BatchGetBillingDataRequest) (*subscriptionv1.BatchGetBillingDataResponse, error) {
	qs := make(subscription.BillingQueries, len(req.GetQueries()))
	for i, q := range req.GetQueries() {
		qs[i] = subscription.BillingQuery{CustomerID: q.GetCustomerId()}
		if q.GetPeriod() != nil {
			qs[i].Period = periodIn(q.GetPeriod())
		}
	}
	data, err := s.svc.BillingData(ctx, qs)
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.BatchGetBillingDataResponse{Results: make([]*subscriptionv1.BillingData, len(data))}
	for i, d := range data {
		r := &subscriptionv1.BillingData{Customer: customerOut(d.Customer)}
		if d.Period != (subscription.Period{}) {
			r.Period, r.NextPeriod = periodOut(d.Period), periodOut(d.Next)
		}
		for _, sg := range d.Segments {
			r.Segments = append(r.Segments, segmentOut(sg))
		}
		res.Results[i] = r
	}
	return res, nil
}
