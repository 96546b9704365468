package grpcapi

import (
	"context"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

// CreateApiKey creates an API key and returns its token, once.
func (s *Server) CreateApiKey(ctx context.Context, req *subscriptionv1.CreateApiKeyRequest) (*subscriptionv1.CreateApiKeyResponse, error) {
	role := auth.RoleOf(req.GetRole())
	if role == auth.Service {
		role = "" // the service credential is configured, never created
	}
	k, token, err := s.svc.CreateKey(ctx, subscription.KeyInput{Name: req.GetName(), Role: role,
		CustomerID: req.GetCustomerId(), ExpireTime: pbtime.Time(req.GetExpireTime()), Key: req.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.CreateApiKeyResponse{ApiKey: keyOut(k), Token: token}, nil
}

// ListApiKeys lists keys, without their tokens.
func (s *Server) ListApiKeys(ctx context.Context, req *subscriptionv1.ListApiKeysRequest) (*subscriptionv1.ListApiKeysResponse, error) {
	p, err := s.svc.ListKeys(ctx, page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	res := &subscriptionv1.ListApiKeysResponse{NextPageToken: p.NextToken}
	for _, k := range p.Items {
		res.ApiKeys = append(res.ApiKeys, keyOut(k))
	}
	return res, nil
}

// ExpireApiKey sets when a key stops working.
func (s *Server) ExpireApiKey(ctx context.Context, req *subscriptionv1.ExpireApiKeyRequest) (*subscriptionv1.ExpireApiKeyResponse, error) {
	k, err := s.svc.ExpireKey(ctx, req.GetKeyId(), pbtime.Time(req.GetExpireTime()))
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.ExpireApiKeyResponse{ApiKey: keyOut(k)}, nil
}

// RevokeApiKey stops a key.
func (s *Server) RevokeApiKey(ctx context.Context, req *subscriptionv1.RevokeApiKeyRequest) (*subscriptionv1.RevokeApiKeyResponse, error) {
	k, err := s.svc.RevokeKey(ctx, req.GetKeyId())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.RevokeApiKeyResponse{ApiKey: keyOut(k)}, nil
}

// VerifyApiKey answers whose a token is.
func (s *Server) VerifyApiKey(ctx context.Context, req *subscriptionv1.VerifyApiKeyRequest) (*subscriptionv1.VerifyApiKeyResponse, error) {
	k, customers, err := s.svc.VerifyKey(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	return &subscriptionv1.VerifyApiKeyResponse{ApiKey: keyOut(k), CustomerIds: customers}, nil
}

func keyOut(k subscription.APIKey) *subscriptionv1.ApiKey {
	return &subscriptionv1.ApiKey{KeyId: k.ID, Prefix: auth.Prefix + k.ID + "_", Name: k.Name, Role: auth.ProtoRole(k.Role),
		CustomerId: k.CustomerID, CreateTime: pbtime.New(k.CreateTime), ExpireTime: pbtime.New(k.ExpireTime),
		RevokeTime: pbtime.New(k.RevokeTime)}
}
