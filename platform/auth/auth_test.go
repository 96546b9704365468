package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	_ "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	_ "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	_ "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
)

// methods returns every RPC of Meterplane's services by full name.
func methods(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "meterplane.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				out["/"+string(sd.FullName())+"/"+string(md.Name())] = md
			}
		}
		return true
	})
	if len(out) < 80 {
		t.Fatalf("found %d RPCs; the generated packages are not all linked", len(out))
	}
	return out
}

// Every RPC has a rule, every rule names an RPC, and every rule's customer
// field is a string field of its request.
func TestPolicyCoversEveryRPC(t *testing.T) {
	t.Parallel()
	all := methods(t)
	for name, md := range all {
		rule, ok := auth.Policy[name]
		if !ok {
			t.Errorf("%s has no entry in auth.Policy", name)
			continue
		}
		if rule.Customer != "" {
			fd := md.Input().Fields().ByName(protoreflect.Name(rule.Customer))
			if fd == nil || fd.Kind() != protoreflect.StringKind {
				t.Errorf("%s: rule names customer field %q, which %s has not as a string", name, rule.Customer, md.Input().FullName())
			}
			if md.IsStreamingClient() {
				t.Errorf("%s: a client stream's rule cannot name a request field", name)
			}
		}
	}
	for name := range auth.Policy {
		if _, ok := all[name]; !ok {
			t.Errorf("auth.Policy names %s, which is no RPC", name)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tok := auth.NewToken("k1")
	id, secret, err := auth.Parse(tok)
	if err != nil || id != "k1" || len(secret) < 32 {
		t.Fatalf("Parse(%q) = %q, %q, %v", tok, id, secret, err)
	}
	if auth.NewToken("k1") == tok {
		t.Fatal("two tokens are equal")
	}
	h := auth.Hash(secret)
	if !auth.Matches(h, secret) {
		t.Fatal("a secret does not match its hash")
	}
	flip := func(b byte) string {
		if b == 'a' {
			return "b"
		}
		return "a"
	}
	for _, other := range []string{secret[:len(secret)-1] + flip(secret[len(secret)-1]), flip(secret[0]) + secret[1:], secret + "a", "", strings.Repeat("a", 40)} {
		if auth.Matches(h, other) {
			t.Errorf("%q matches the hash of %q", other, secret)
		}
	}
	if auth.Matches(nil, secret) {
		t.Error("a secret matches no hash")
	}
	for _, bad := range []string{"", "mp_", "mp_k1", "mp_k1_", "mp__" + secret, "xx_k1_" + secret, "mp_K1_" + secret,
		"mp_k1_short", "mp_k1_" + secret + "!", "mp_k1_" + secret + "\x00", "mp_k1_" + strings.Repeat("a", 129),
		"mp_" + strings.Repeat("a", 41) + "_" + secret, "mp_k\xff_" + secret} {
		if _, _, err := auth.Parse(bad); !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("Parse(%q) = %v, want Unauthenticated", bad, err)
		}
	}
}

// The cache reuses answers for less than a second, refusals included, and
// forgets a key at once when told.
func TestCache(t *testing.T) {
	t.Parallel()
	calls := 0
	revoked := false
	v := auth.VerifierFunc(func(_ context.Context, token string) (auth.Caller, error) {
		calls++
		if revoked {
			return auth.Caller{}, errs.New(errs.Unauthenticated, "revoked")
		}
		return auth.Caller{KeyID: "k1", Role: auth.Admin}, nil
	})
	c := auth.NewCache(v)
	tok := auth.NewToken("k1")
	for range 3 {
		if got, err := c.Verify(context.Background(), tok); err != nil || got.KeyID != "k1" {
			t.Fatalf("Verify = %v, %v", got, err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d lookups for three calls within the TTL, want 1", calls)
	}
	revoked = true
	c.Forget("k1")
	if _, err := c.Verify(context.Background(), tok); !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("after Forget: %v, want Unauthenticated", err)
	}
	if _, err := c.Verify(context.Background(), tok); !errs.Is(err, errs.Unauthenticated) || calls != 2 {
		t.Fatalf("a refusal is not cached: %d lookups", calls)
	}
	if auth.CacheTTL >= time.Second {
		t.Fatalf("CacheTTL %v: a revoked key must stop within a second", auth.CacheTTL)
	}
}

// The guard's answers for each kind of caller and rule.
func TestGuard(t *testing.T) {
	t.Parallel()
	service := auth.NewToken(auth.ServiceKeyID)
	keys := map[string]auth.Caller{
		"admin":     {KeyID: "a", Role: auth.Admin},
		"prov":      {KeyID: "p", Role: auth.Provisioner},
		"collector": {KeyID: "c", Role: auth.Collector},
		"bakery":    {KeyID: "b", Role: auth.Customer, Customers: []string{"cus_bakery", "cus_child"}},
	}
	tokens := map[string]string{}
	for name := range keys {
		tokens[name] = auth.NewToken(name)
	}
	g := auth.NewGuard(auth.VerifierFunc(func(_ context.Context, token string) (auth.Caller, error) {
		for name, tok := range tokens {
			if tok == token {
				return keys[name], nil
			}
		}
		return auth.Caller{}, errs.New(errs.Unauthenticated, "unknown key")
	}), service)
	call := func(method, header string, req any) (auth.Caller, error) {
		ctx := context.Background()
		if header != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", header))
		}
		var got auth.Caller
		_, err := g.Unary()(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			got, _ = auth.FromContext(ctx)
			return nil, nil
		})
		return got, err
	}
	const (
		getEnt     = "/meterplane.subscription.v1.SubscriptionService/GetEntitlements"
		createKey  = "/meterplane.subscription.v1.SubscriptionService/CreateApiKey"
		listSubs   = "/meterplane.subscription.v1.SubscriptionService/ListSubscriptions"
		getSub     = "/meterplane.subscription.v1.SubscriptionService/GetSubscription"
		createCust = "/meterplane.subscription.v1.SubscriptionService/CreateCustomer"
	)
	ent := func(id string) any { return &subscriptionv1.GetEntitlementsRequest{CustomerId: id} }
	for _, c := range []struct {
		name, method, header string
		req                  any
		want                 errs.Kind // errs.Internal for none
	}{
		{"no key", getEnt, "", ent("cus_bakery"), errs.Unauthenticated},
		{"not bearer", getEnt, "Basic " + tokens["admin"], ent("x"), errs.Unauthenticated},
		{"malformed", getEnt, "Bearer nope", ent("x"), errs.Unauthenticated},
		{"unknown", getEnt, "Bearer " + auth.NewToken("zz"), ent("x"), errs.Unauthenticated},
		{"admin", createKey, "Bearer " + tokens["admin"], &subscriptionv1.CreateApiKeyRequest{}, errs.Internal},
		{"bearer in lower case", createKey, "bearer " + tokens["admin"], &subscriptionv1.CreateApiKeyRequest{}, errs.Internal},
		{"service", getEnt, "Bearer " + service, ent("x"), errs.Internal},
		{"service may not manage keys", createKey, "Bearer " + service, &subscriptionv1.CreateApiKeyRequest{}, errs.PermissionDenied},
		{"provisioner reads entitlements", getEnt, "Bearer " + tokens["prov"], ent("x"), errs.Internal},
		{"provisioner may not create customers", createCust, "Bearer " + tokens["prov"], &subscriptionv1.CreateCustomerRequest{}, errs.PermissionDenied},
		{"collector may not read entitlements", getEnt, "Bearer " + tokens["collector"], ent("x"), errs.PermissionDenied},
		{"customer, own", getEnt, "Bearer " + tokens["bakery"], ent("cus_bakery"), errs.Internal},
		{"customer, its child", getEnt, "Bearer " + tokens["bakery"], ent("cus_child"), errs.Internal},
		{"customer, another", getEnt, "Bearer " + tokens["bakery"], ent("cus_other"), errs.NotFound},
		{"customer, none named", getEnt, "Bearer " + tokens["bakery"], ent(""), errs.Invalid},
		{"customer, scoped list without customer", listSubs, "Bearer " + tokens["bakery"], &subscriptionv1.ListSubscriptionsRequest{}, errs.Internal},
		{"customer, by id", getSub, "Bearer " + tokens["bakery"], &subscriptionv1.GetSubscriptionRequest{SubscriptionId: "sub_x"}, errs.Internal},
		{"customer may not create customers", createCust, "Bearer " + tokens["bakery"], &subscriptionv1.CreateCustomerRequest{}, errs.PermissionDenied},
		{"no rule", "/meterplane.catalog.v1.CatalogService/Nope", "Bearer " + tokens["admin"], nil, errs.PermissionDenied},
		{"health is open", "/grpc.health.v1.Health/Check", "", nil, errs.Internal},
	} {
		got, err := call(c.method, c.header, c.req)
		switch {
		case c.want == errs.Internal && err != nil:
			t.Errorf("%s: %v, want allowed", c.name, err)
		case c.want != errs.Internal && !errs.Is(err, c.want):
			t.Errorf("%s: %v, want kind %v", c.name, err, c.want)
		case c.want == errs.Internal && c.header != "" && got.Role == "":
			t.Errorf("%s: the handler got no caller", c.name)
		}
	}
}
