// Package grpcapi serves the catalog's gRPC API: it translates protobuf
// requests into calls of the domain Service and its results back, nothing
// else. Errors leave unchanged; the shared server maps their kinds to codes.
package grpcapi

import (
	"context"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
)

// Server implements catalogv1.CatalogServiceServer on a catalog.Service.
type Server struct {
	catalogv1.UnimplementedCatalogServiceServer
	svc *catalog.Service
}

// New returns a Server calling svc.
func New(svc *catalog.Service) *Server { return &Server{svc: svc} }

func page(size int32, token string) catalog.PageRequest {
	return catalog.PageRequest{Size: size, Token: token}
}

// CreateFeature defines a feature.
func (s *Server) CreateFeature(ctx context.Context, req *catalogv1.CreateFeatureRequest) (*catalogv1.CreateFeatureResponse, error) {
	f, err := s.svc.CreateFeature(ctx, catalog.CreateFeatureInput{Feature: featureIn(req.GetFeature())})
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreateFeatureResponse{Feature: featureOut(f)}, nil
}

// GetFeature returns one feature by key.
func (s *Server) GetFeature(ctx context.Context, req *catalogv1.GetFeatureRequest) (*catalogv1.GetFeatureResponse, error) {
	f, err := s.svc.GetFeature(ctx, req.GetFeatureKey())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetFeatureResponse{Feature: featureOut(f)}, nil
}

// ListFeatures lists features by key.
func (s *Server) ListFeatures(ctx context.Context, req *catalogv1.ListFeaturesRequest) (*catalogv1.ListFeaturesResponse, error) {
	p, err := s.svc.ListFeatures(ctx, page(req.GetPageSize(), req.GetPageToken()))
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListFeaturesResponse{NextPageToken: p.NextToken}
	for _, f := range p.Items {
		res.Features = append(res.Features, featureOut(f))
	}
	return res, nil
}

// CreatePlan creates a plan with draft version 1.
func (s *Server) CreatePlan(ctx context.Context, req *catalogv1.CreatePlanRequest) (*catalogv1.CreatePlanResponse, error) {
	var d decoder
	in := catalog.CreatePlanInput{
		Plan:  planIn(req.GetPlan()),
		Draft: contentIn(&d, "draft.", req.GetDraft().GetCharges(), req.GetDraft().GetEntitlements()),
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	p, v, err := s.svc.CreatePlan(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreatePlanResponse{Plan: planOut(p), Draft: versionOut(v)}, nil
}

// GetPlan returns a plan and its latest version.
func (s *Server) GetPlan(ctx context.Context, req *catalogv1.GetPlanRequest) (*catalogv1.GetPlanResponse, error) {
	p, v, err := s.svc.GetPlan(ctx, req.GetPlanId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetPlanResponse{Plan: planOut(p), LatestVersion: versionOut(v)}, nil
}

// ListPlans lists plans by key, with filters.
func (s *Server) ListPlans(ctx context.Context, req *catalogv1.ListPlansRequest) (*catalogv1.ListPlansResponse, error) {
	p, err := s.svc.ListPlans(ctx, catalog.ListPlansInput{
		Status:      planStatuses.in(req.GetStatus()),
		Currency:    req.GetCurrency(),
		OfferingKey: req.GetOfferingKey(),
		Page:        page(req.GetPageSize(), req.GetPageToken()),
	})
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListPlansResponse{NextPageToken: p.NextToken}
	for _, pl := range p.Items {
		res.Plans = append(res.Plans, planOut(pl))
	}
	return res, nil
}

// UpdatePlanVersion replaces the content of a draft version.
func (s *Server) UpdatePlanVersion(ctx context.Context, req *catalogv1.UpdatePlanVersionRequest) (*catalogv1.UpdatePlanVersionResponse, error) {
	var d decoder
	in := catalog.UpdatePlanVersionInput{
		PlanRef: req.GetPlanId(),
		Version: req.GetVersion(),
		Content: contentIn(&d, "", req.GetCharges(), req.GetEntitlements()),
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	v, err := s.svc.UpdatePlanVersion(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdatePlanVersionResponse{Version: versionOut(v)}, nil
}

// PublishPlan publishes the plan's draft version.
func (s *Server) PublishPlan(ctx context.Context, req *catalogv1.PublishPlanRequest) (*catalogv1.PublishPlanResponse, error) {
	p, v, err := s.svc.PublishPlan(ctx, req.GetPlanId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.PublishPlanResponse{Plan: planOut(p), Version: versionOut(v)}, nil
}

// CreatePlanVersion starts a new draft copied from the latest published
// version.
func (s *Server) CreatePlanVersion(ctx context.Context, req *catalogv1.CreatePlanVersionRequest) (*catalogv1.CreatePlanVersionResponse, error) {
	v, err := s.svc.CreatePlanVersion(ctx, req.GetPlanId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreatePlanVersionResponse{Version: versionOut(v)}, nil
}

// GetPlanVersion returns one version of a plan.
func (s *Server) GetPlanVersion(ctx context.Context, req *catalogv1.GetPlanVersionRequest) (*catalogv1.GetPlanVersionResponse, error) {
	v, err := s.svc.GetPlanVersion(ctx, req.GetPlanId(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetPlanVersionResponse{Version: versionOut(v)}, nil
}

// ArchivePlan closes a plan to new subscriptions.
func (s *Server) ArchivePlan(ctx context.Context, req *catalogv1.ArchivePlanRequest) (*catalogv1.ArchivePlanResponse, error) {
	p, err := s.svc.ArchivePlan(ctx, req.GetPlanId())
	if err != nil {
		return nil, err
	}
	return &catalogv1.ArchivePlanResponse{Plan: planOut(p)}, nil
}

// CreateComputePlan defines a compute size.
func (s *Server) CreateComputePlan(ctx context.Context, req *catalogv1.CreateComputePlanRequest) (*catalogv1.CreateComputePlanResponse, error) {
	var d decoder
	in := catalog.CreateComputePlanInput{ComputePlan: computePlanIn(&d, "compute_plan", req.GetComputePlan())}
	if err := d.err(); err != nil {
		return nil, err
	}
	c, err := s.svc.CreateComputePlan(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreateComputePlanResponse{ComputePlan: computePlanOut(c)}, nil
}

// ListComputePlans lists compute plans by key.
func (s *Server) ListComputePlans(ctx context.Context, req *catalogv1.ListComputePlansRequest) (*catalogv1.ListComputePlansResponse, error) {
	p, err := s.svc.ListComputePlans(ctx, page(req.GetPageSize(), req.GetPageToken()))
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListComputePlansResponse{NextPageToken: p.NextToken}
	for _, c := range p.Items {
		res.ComputePlans = append(res.ComputePlans, computePlanOut(c))
	}
	return res, nil
}

// CreateStoragePlan defines a storage price.
func (s *Server) CreateStoragePlan(ctx context.Context, req *catalogv1.CreateStoragePlanRequest) (*catalogv1.CreateStoragePlanResponse, error) {
	var d decoder
	in := catalog.CreateStoragePlanInput{StoragePlan: storagePlanIn(&d, "storage_plan", req.GetStoragePlan())}
	if err := d.err(); err != nil {
		return nil, err
	}
	sp, err := s.svc.CreateStoragePlan(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreateStoragePlanResponse{StoragePlan: storagePlanOut(sp)}, nil
}

// ListStoragePlans lists storage plans by key.
func (s *Server) ListStoragePlans(ctx context.Context, req *catalogv1.ListStoragePlansRequest) (*catalogv1.ListStoragePlansResponse, error) {
	p, err := s.svc.ListStoragePlans(ctx, page(req.GetPageSize(), req.GetPageToken()))
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListStoragePlansResponse{NextPageToken: p.NextToken}
	for _, sp := range p.Items {
		res.StoragePlans = append(res.StoragePlans, storagePlanOut(sp))
	}
	return res, nil
}

// CreateOffering defines an offering with its assignments.
func (s *Server) CreateOffering(ctx context.Context, req *catalogv1.CreateOfferingRequest) (*catalogv1.CreateOfferingResponse, error) {
	var d decoder
	in := catalog.CreateOfferingInput{Offering: offeringIn(&d, req.GetOffering())}
	if err := d.err(); err != nil {
		return nil, err
	}
	o, err := s.svc.CreateOffering(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.CreateOfferingResponse{Offering: offeringOut(o)}, nil
}

// GetOffering returns one offering.
func (s *Server) GetOffering(ctx context.Context, req *catalogv1.GetOfferingRequest) (*catalogv1.GetOfferingResponse, error) {
	o, err := s.svc.GetOffering(ctx, req.GetOfferingKey())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetOfferingResponse{Offering: offeringOut(o)}, nil
}

// ListOfferings lists offerings by key.
func (s *Server) ListOfferings(ctx context.Context, req *catalogv1.ListOfferingsRequest) (*catalogv1.ListOfferingsResponse, error) {
	p, err := s.svc.ListOfferings(ctx, page(req.GetPageSize(), req.GetPageToken()))
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListOfferingsResponse{NextPageToken: p.NextToken}
	for _, o := range p.Items {
		res.Offerings = append(res.Offerings, offeringOut(o))
	}
	return res, nil
}

// SetOfferingAssignments replaces the assignments of an offering.
func (s *Server) SetOfferingAssignments(ctx context.Context, req *catalogv1.SetOfferingAssignmentsRequest) (*catalogv1.SetOfferingAssignmentsResponse, error) {
	var d decoder
	in := catalog.SetOfferingAssignmentsInput{
		OfferingKey: req.GetOfferingKey(),
		Assignments: assignmentsIn(&d, "", req.GetAssignments()),
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	o, err := s.svc.SetOfferingAssignments(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.SetOfferingAssignmentsResponse{Offering: offeringOut(o)}, nil
}

// ListPlansForOffering returns what a frontend shows when a user orders an
// offering.
func (s *Server) ListPlansForOffering(ctx context.Context, req *catalogv1.ListPlansForOfferingRequest) (*catalogv1.ListPlansForOfferingResponse, error) {
	op, err := s.svc.ListPlansForOffering(ctx, req.GetOfferingKey())
	if err != nil {
		return nil, err
	}
	res := &catalogv1.ListPlansForOfferingResponse{
		Offering:           offeringOut(op.Offering),
		Orderable:          op.Orderable,
		NotOrderableReason: op.NotOrderableReason,
	}
	for _, p := range op.Plans {
		res.Plans = append(res.Plans, &catalogv1.OfferedPlan{
			Assignment:   assignmentOut(p.Assignment),
			ComputePlan:  computePlanOut(p.ComputePlan),
			MonthlyPrice: moneyOut(p.MonthlyPrice),
		})
	}
	if op.StoragePlan != nil {
		res.StoragePlan = storagePlanOut(*op.StoragePlan)
	}
	return res, nil
}

// UpdateFeature changes a feature's name and unit.
func (s *Server) UpdateFeature(ctx context.Context, req *catalogv1.UpdateFeatureRequest) (*catalogv1.UpdateFeatureResponse, error) {
	f, err := s.svc.UpdateFeature(ctx, catalog.UpdateFeatureInput{Key: req.GetFeatureKey(), Name: req.Name, Unit: req.Unit})
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdateFeatureResponse{Feature: featureOut(f)}, nil
}

// UpdatePlan changes a plan's name and description.
func (s *Server) UpdatePlan(ctx context.Context, req *catalogv1.UpdatePlanRequest) (*catalogv1.UpdatePlanResponse, error) {
	p, err := s.svc.UpdatePlan(ctx, catalog.UpdatePlanInput{PlanRef: req.GetPlanId(), Name: req.Name, Description: req.Description})
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdatePlanResponse{Plan: planOut(p)}, nil
}

// GetComputePlan returns one compute plan.
func (s *Server) GetComputePlan(ctx context.Context, req *catalogv1.GetComputePlanRequest) (*catalogv1.GetComputePlanResponse, error) {
	c, err := s.svc.GetComputePlan(ctx, req.GetComputePlanKey())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetComputePlanResponse{ComputePlan: computePlanOut(c)}, nil
}

// UpdateComputePlan replaces a compute plan.
func (s *Server) UpdateComputePlan(ctx context.Context, req *catalogv1.UpdateComputePlanRequest) (*catalogv1.UpdateComputePlanResponse, error) {
	var d decoder
	in := catalog.CreateComputePlanInput{ComputePlan: computePlanIn(&d, "compute_plan", req.GetComputePlan())}
	if err := d.err(); err != nil {
		return nil, err
	}
	c, err := s.svc.UpdateComputePlan(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdateComputePlanResponse{ComputePlan: computePlanOut(c)}, nil
}

// GetStoragePlan returns one storage plan.
func (s *Server) GetStoragePlan(ctx context.Context, req *catalogv1.GetStoragePlanRequest) (*catalogv1.GetStoragePlanResponse, error) {
	sp, err := s.svc.GetStoragePlan(ctx, req.GetStoragePlanKey())
	if err != nil {
		return nil, err
	}
	return &catalogv1.GetStoragePlanResponse{StoragePlan: storagePlanOut(sp)}, nil
}

// UpdateStoragePlan replaces a storage plan.
func (s *Server) UpdateStoragePlan(ctx context.Context, req *catalogv1.UpdateStoragePlanRequest) (*catalogv1.UpdateStoragePlanResponse, error) {
	var d decoder
	in := catalog.CreateStoragePlanInput{StoragePlan: storagePlanIn(&d, "storage_plan", req.GetStoragePlan())}
	if err := d.err(); err != nil {
		return nil, err
	}
	sp, err := s.svc.UpdateStoragePlan(ctx, in)
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdateStoragePlanResponse{StoragePlan: storagePlanOut(sp)}, nil
}

// UpdateOffering changes an offering's own fields.
func (s *Server) UpdateOffering(ctx context.Context, req *catalogv1.UpdateOfferingRequest) (*catalogv1.UpdateOfferingResponse, error) {
	o, err := s.svc.UpdateOffering(ctx, catalog.UpdateOfferingInput{
		Key: req.GetOfferingKey(), Name: req.Name, Service: req.Service, ControlPlane: req.ControlPlane, StoragePlanKey: req.StoragePlanKey,
	})
	if err != nil {
		return nil, err
	}
	return &catalogv1.UpdateOfferingResponse{Offering: offeringOut(o)}, nil
}
