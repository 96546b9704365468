package auth

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/peer"
)

// CacheTTL is how long a verified token's answer is reused: a revoked or
// expired key stops working within it on every service.
const CacheTTL = 900 * time.Millisecond

// maxCached bounds the cache; past it the cache starts afresh.
const maxCached = 10_000

// Cache remembers a verifier's answers, refusals included (so that bad
// tokens cost no lookups), for CacheTTL. Errors that are not refusals (the
// store or peer is down) are not remembered.
type Cache struct {
	v   Verifier
	now func() time.Time
	mu  sync.RWMutex
	m   map[string]cached
}

type cached struct {
	caller Caller
	err    error
	at     time.Time
}

// NewCache returns a cache of v's answers.
func NewCache(v Verifier) *Cache {
	return &Cache{v: v, now: time.Now, m: map[string]cached{}}
}

// Verify implements Verifier.
func (c *Cache) Verify(ctx context.Context, token string) (Caller, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < CacheTTL {
		return e.caller, e.err
	}
	caller, err := c.v.Verify(ctx, token)
	if err != nil && !errs.Is(err, errs.Unauthenticated) {
		return Caller{}, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCached {
		clear(c.m)
	}
	c.m[token] = cached{caller: caller, err: err, at: now}
	c.mu.Unlock()
	return caller, err
}

// Forget drops what the cache holds of the key, at once: the process that
// revokes a key stops honouring it before it answers.
func (c *Cache) Forget(keyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for token, e := range c.m {
		if id, _, err := Parse(token); err == nil && id == keyID || e.caller.KeyID == keyID {
			delete(c.m, token)
		}
	}
}

// Remote verifies tokens through the subscription service, which owns the
// keys, calling it with the service credential.
func Remote(conn grpc.ClientConnInterface) Verifier {
	client := subscriptionv1.NewSubscriptionServiceClient(conn)
	return VerifierFunc(func(ctx context.Context, token string) (Caller, error) {
		resp, err := client.VerifyApiKey(ctx, &subscriptionv1.VerifyApiKeyRequest{Token: token})
		switch status.Code(err) {
		case codes.OK:
		case codes.Unauthenticated:
			return Caller{}, errs.New(errs.Unauthenticated, "%s", status.Convert(err).Message())
		default:
			return Caller{}, peer.Failed("subscription", "VerifyApiKey", err)
		}
		return CallerOf(resp.GetApiKey(), resp.GetCustomerIds()), nil
	})
}

// CallerOf is the caller a verified key stands for.
func CallerOf(k *subscriptionv1.ApiKey, customers []string) Caller {
	return Caller{KeyID: k.GetKeyId(), Role: RoleOf(k.GetRole()), Customers: customers}
}

// RoleOf maps the API's role to a Role ("" for none).
func RoleOf(r subscriptionv1.ApiKeyRole) Role {
	return roles[r]
}

var roles = map[subscriptionv1.ApiKeyRole]Role{
	subscriptionv1.ApiKeyRole_API_KEY_ROLE_ADMIN:       Admin,
	subscriptionv1.ApiKeyRole_API_KEY_ROLE_PROVISIONER: Provisioner,
	subscriptionv1.ApiKeyRole_API_KEY_ROLE_COLLECTOR:   Collector,
	subscriptionv1.ApiKeyRole_API_KEY_ROLE_CUSTOMER:    Customer,
	subscriptionv1.ApiKeyRole_API_KEY_ROLE_SERVICE:     Service,
}

// ProtoRole maps a Role to the API's role.
func ProtoRole(r Role) subscriptionv1.ApiKeyRole {
	for p, role := range roles {
		if role == r {
			return p
		}
	}
	return subscriptionv1.ApiKeyRole_API_KEY_ROLE_UNSPECIFIED
}

// Credential sends a token with every call of a client connection: the
// service credential on the connections between services.
type Credential struct {
	Token string
	// Secure is whether the connection is TLS; without it the token is
	// sent in clear, as on a private network.
	Secure bool
}

var _ credentials.PerRPCCredentials = Credential{}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c Credential) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c Credential) RequireTransportSecurity() bool { return c.Secure }
