package main_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/auth"
)

// as returns ctx sending token as the caller's API key ("" for none).
func as(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// plainConn is a connection to addr that sends no key of its own.
func plainConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// newKey creates a key with the admin key and returns its token.
func newKey(t *testing.T, subs subscriptionv1.SubscriptionServiceClient, role subscriptionv1.ApiKeyRole, customerID string) (string, *subscriptionv1.ApiKey) {
	t.Helper()
	resp, err := subs.CreateApiKey(as(context.Background(), apptest.AdminKey), &subscriptionv1.CreateApiKeyRequest{
		Name: role.String(), Role: role, CustomerId: customerID})
	if err != nil {
		t.Fatalf("create %s key: %v", role, err)
	}
	if !strings.HasPrefix(resp.GetToken(), resp.GetApiKey().GetPrefix()) {
		t.Fatalf("token %q does not begin with the key's prefix %q", resp.GetToken(), resp.GetApiKey().GetPrefix())
	}
	return resp.GetToken(), resp.GetApiKey()
}

func newCustomer(t *testing.T, subs subscriptionv1.SubscriptionServiceClient, external, parent string) string {
	t.Helper()
	resp, err := subs.CreateCustomer(as(context.Background(), apptest.AdminKey), &subscriptionv1.CreateCustomerRequest{
		Customer: &subscriptionv1.Customer{ExternalId: external, Name: external, Currency: "EUR", ParentCustomerId: parent}})
	if err != nil {
		t.Fatalf("create customer %s: %v", external, err)
	}
	return resp.GetCustomer().GetCustomerId()
}

// Every role against every RPC of the real binary: each call is allowed
// (whatever the empty request then gets, but never Unauthenticated or
// PermissionDenied), or refused with PermissionDenied; without a key, or
// with a malformed or unknown one, every call is Unauthenticated.
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	r := start(t, nil, "--demo")
	conn := plainConn(t, r.GRPCAddr)
	subs := subscriptionv1.NewSubscriptionServiceClient(conn)
	cus := newCustomer(t, subs, "matrix-customer", "")
	tokens := map[auth.Role]string{auth.Admin: apptest.AdminKey, auth.Service: apptest.ServiceKey}
	tokens[auth.Provisioner], _ = newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_PROVISIONER, "")
	tokens[auth.Collector], _ = newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_COLLECTOR, "")
	tokens[auth.Customer], _ = newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_CUSTOMER, cus)

	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "meterplane.") {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				method := "/" + string(sd.FullName()) + "/" + string(md.Name())
				rule, ok := auth.Policy[method]
				if !ok {
					t.Errorf("%s has no access rule", method)
					continue
				}
				n++
				for _, bad := range []string{"", "nope", auth.NewToken("unknown")} {
					if code := callCode(t, conn, md, method, bad); code != codes.Unauthenticated {
						t.Errorf("%s with key %q: %v, want Unauthenticated", method, bad, code)
					}
				}
				for role, token := range tokens {
					allowed := role == auth.Admin || role == auth.Service && !rule.Keys || slices.Contains(rule.Roles, role)
					code := callCode(t, conn, md, method, token)
					switch {
					case allowed && (code == codes.PermissionDenied || code == codes.Unauthenticated):
						t.Errorf("%s as %s: %v, want allowed", method, role, code)
					case !allowed && code != codes.PermissionDenied:
						t.Errorf("%s as %s: %v, want PermissionDenied", method, role, code)
					}
				}
			}
		}
		return true
	})
	if n < 80 {
		t.Fatalf("checked %d RPCs", n)
	}
}

// callCode calls method with an empty request (VerifyApiKey with the
// admin key as its token) as the holder of token and returns the code.
func callCode(t *testing.T, conn *grpc.ClientConn, md protoreflect.MethodDescriptor, method, token string) codes.Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(as(context.Background(), token), 20*time.Second)
	defer cancel()
	var req proto.Message = &emptypb.Empty{}
	if method == subscriptionv1.SubscriptionService_VerifyApiKey_FullMethodName {
		req = &subscriptionv1.VerifyApiKeyRequest{Token: apptest.AdminKey}
	}
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		return status.Code(conn.Invoke(ctx, method, req, &emptypb.Empty{}))
	}
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: md.IsStreamingClient(), ServerStreams: md.IsStreamingServer()}, method)
	if err != nil {
		return status.Code(err)
	}
	if err := s.SendMsg(req); err != nil && err != io.EOF {
		return status.Code(err)
	}
	s.CloseSend()
	return status.Code(s.RecvMsg(&emptypb.Empty{}))
}

// A customer key sees its own data and its children's, and of other
// customers nothing, not even that they exist; over HTTP too.
func TestAuthCustomerScope(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	conn := plainConn(t, r.GRPCAddr)
	subs := subscriptionv1.NewSubscriptionServiceClient(conn)
	invs := invoicev1.NewInvoiceServiceClient(conn)
	admin := as(context.Background(), apptest.AdminKey)

	reseller := newCustomer(t, subs, "scope-reseller", "")
	child := newCustomer(t, subs, "scope-child", reseller)
	other := newCustomer(t, subs, "scope-other", "")
	token, _ := newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_CUSTOMER, reseller)
	mine := as(context.Background(), token)

	if _, err := subs.GetCustomer(mine, &subscriptionv1.GetCustomerRequest{CustomerId: child}); err != nil {
		t.Errorf("reseller reads its child: %v", err)
	}
	if _, err := subs.GetCustomer(mine, &subscriptionv1.GetCustomerRequest{CustomerId: other}); status.Code(err) != codes.NotFound {
		t.Errorf("reseller reads another customer: %v, want NotFound", err)
	}
	if _, err := subs.GetCustomer(mine, &subscriptionv1.GetCustomerRequest{CustomerId: "cus_doesnotexist"}); status.Code(err) != codes.NotFound {
		t.Errorf("reseller reads a customer that does not exist: %v, want NotFound", err)
	}
	list, err := subs.ListCustomers(mine, &subscriptionv1.ListCustomersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, c := range list.GetCustomers() {
		seen = append(seen, c.GetCustomerId())
	}
	slices.Sort(seen)
	want := []string{child, reseller}
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("ListCustomers with the reseller's key = %v, want %v", seen, want)
	}
	// The customer's store-scoped reads: another customer's invoices are
	// not listed, and another's invoice id is NotFound.
	all, err := invs.ListInvoices(admin, &invoicev1.ListInvoicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := invs.ListInvoices(mine, &invoicev1.ListInvoicesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range own.GetInvoices() {
		if inv.GetCustomerId() != reseller && inv.GetCustomerId() != child {
			t.Errorf("the reseller's key lists invoice %s of %s", inv.GetInvoiceId(), inv.GetCustomerId())
		}
	}
	for _, inv := range all.GetInvoices() {
		if inv.GetCustomerId() == reseller || inv.GetCustomerId() == child {
			continue
		}
		if _, err := invs.GetInvoice(mine, &invoicev1.GetInvoiceRequest{InvoiceId: inv.GetInvoiceId()}); status.Code(err) != codes.NotFound {
			t.Errorf("another customer's invoice by id: %v, want NotFound", err)
		}
	}
	if _, err := invs.ListInvoices(mine, &invoicev1.ListInvoicesRequest{CustomerId: other}); status.Code(err) != codes.NotFound {
		t.Errorf("ListInvoices of another customer: %v, want NotFound", err)
	}
	// The catalog: a customer reads what is published, nothing else.
	cat := catalogv1.NewCatalogServiceClient(conn)
	if _, err := cat.CreatePlan(admin, &catalogv1.CreatePlanRequest{Plan: &catalogv1.Plan{Key: "scope_draft", Name: "Draft", Currency: "EUR",
		BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.GetPlan(admin, &catalogv1.GetPlanRequest{PlanId: "scope_draft"}); err != nil {
		t.Fatalf("admin reads the draft: %v", err)
	}
	if _, err := cat.GetPlan(mine, &catalogv1.GetPlanRequest{PlanId: "scope_draft"}); status.Code(err) != codes.NotFound {
		t.Errorf("a customer reads a draft plan: %v, want NotFound", err)
	}

	// Over HTTP: another customer is 404, no key 401, a customer key may
	// not write (403).
	get := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.HTTPAddr+path, nil)
		if token == "" {
			req.Header.Set("X-No-Key", "1")
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/v1/customers/"+other, token); code != http.StatusNotFound {
		t.Errorf("GET another customer over HTTP: %d, want 404", code)
	}
	if code := get("/v1/customers/"+child, token); code != http.StatusOK {
		t.Errorf("GET its child over HTTP: %d, want 200", code)
	}
	if code := get("/v1/customers/"+child, ""); code != http.StatusUnauthorized {
		t.Errorf("GET without a key: %d, want 401", code)
	}
	if code := get("/v1/apiKeys", token); code != http.StatusForbidden {
		t.Errorf("a customer lists keys: %d, want 403", code)
	}
	for _, open := range []string{"/healthz", "/readyz", "/metrics"} {
		if code := get(open, ""); code != http.StatusOK {
			t.Errorf("GET %s without a key: %d, want 200", open, code)
		}
	}
}

// Keys: a token is shown once and only its hash kept; listing shows
// prefixes; a retry of a create answers the same key without its token;
// idempotency keys are the caller's own; expired and revoked keys stop
// within a second, on the owner and on a service in another process.
func TestAuthKeys(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	conn := plainConn(t, r.GRPCAddr)
	subs := subscriptionv1.NewSubscriptionServiceClient(conn)
	admin := as(context.Background(), apptest.AdminKey)

	// A standalone catalog that verifies keys through this binary.
	dir := t.TempDir()
	catalogBin, err := apptest.Build(dir, filepath.Join("..", "..", "services", "catalog", "cmd", "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	split := apptest.Start(t, catalogBin, []string{"MP_SUBSCRIPTION_ADDR=" + r.GRPCAddr})
	t.Cleanup(func() { split.Stop(t) })
	remote := catalogv1.NewCatalogServiceClient(plainConn(t, split.GRPCAddr))
	local := catalogv1.NewCatalogServiceClient(conn)

	req := &subscriptionv1.CreateApiKeyRequest{Name: "provisioner one", Role: subscriptionv1.ApiKeyRole_API_KEY_ROLE_PROVISIONER, IdempotencyKey: "create-key-1"}
	first, err := subs.CreateApiKey(admin, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := subs.CreateApiKey(admin, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.GetApiKey().GetKeyId() != first.GetApiKey().GetKeyId() || again.GetToken() != "" {
		t.Errorf("retry = key %s token %q, want key %s without its token", again.GetApiKey().GetKeyId(), again.GetToken(), first.GetApiKey().GetKeyId())
	}
	// Fifty concurrent creates with one idempotency key make one key.
	storm := &subscriptionv1.CreateApiKeyRequest{Name: "storm", Role: subscriptionv1.ApiKeyRole_API_KEY_ROLE_COLLECTOR, IdempotencyKey: "storm"}
	ids := make(chan string, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := subs.CreateApiKey(admin, storm)
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			ids <- resp.GetApiKey().GetKeyId()
		})
	}
	wg.Wait()
	close(ids)
	distinct := map[string]bool{}
	for id := range ids {
		distinct[id] = true
	}
	if len(distinct) != 1 {
		t.Errorf("50 concurrent creates with one idempotency key made %d keys", len(distinct))
	}
	req.Name = "another name"
	if _, err := subs.CreateApiKey(admin, req); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("the same idempotency key for another key: %v, want FailedPrecondition", err)
	}
	keys, err := subs.ListApiKeys(admin, &subscriptionv1.ListApiKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys.GetApiKeys() {
		found = found || k.GetKeyId() == first.GetApiKey().GetKeyId()
		if strings.Contains(k.String(), first.GetToken()[len(k.GetPrefix()):]) {
			t.Errorf("ListApiKeys shows a secret: %v", k)
		}
	}
	if !found {
		t.Error("ListApiKeys does not list the new key")
	}

	// Idempotency keys are the caller's: the same key from two callers
	// makes two customers; from one caller, one.
	other, _ := newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_ADMIN, "")
	mk := func(ctx context.Context, external string) string {
		resp, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{IdempotencyKey: "shared-key",
			Customer: &subscriptionv1.Customer{ExternalId: external, Name: external, Currency: "EUR"}})
		if err != nil {
			t.Fatalf("create customer %s: %v", external, err)
		}
		return resp.GetCustomer().GetCustomerId()
	}
	a, b := mk(admin, "idem-a"), mk(as(context.Background(), other), "idem-b")
	if a == b {
		t.Error("two callers' requests with one idempotency key made one customer")
	}
	if mk(admin, "idem-a") != a {
		t.Error("a retry by the same caller made another customer")
	}

	// Revocation and expiry: within a second, here and in the other process.
	token := first.GetToken()
	for _, c := range []catalogv1.CatalogServiceClient{local, remote} {
		if _, err := c.ListPlans(as(context.Background(), token), &catalogv1.ListPlansRequest{}); err != nil {
			t.Fatalf("the provisioner key before revocation: %v", err)
		}
	}
	stops := func(what string, token string, change func()) {
		t.Helper()
		change()
		changed := time.Now()
		for _, c := range []catalogv1.CatalogServiceClient{local, remote} {
			for {
				_, err := c.ListPlans(as(context.Background(), token), &catalogv1.ListPlansRequest{})
				if status.Code(err) == codes.Unauthenticated {
					break
				}
				if time.Since(changed) > time.Second {
					t.Fatalf("a %s key still works %v after: %v", what, time.Since(changed), err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	stops("revoked", token, func() {
		if _, err := subs.RevokeApiKey(admin, &subscriptionv1.RevokeApiKeyRequest{KeyId: first.GetApiKey().GetKeyId()}); err != nil {
			t.Fatal(err)
		}
	})
	expiring, k := newKey(t, subs, subscriptionv1.ApiKeyRole_API_KEY_ROLE_PROVISIONER, "")
	if _, err := remote.ListPlans(as(context.Background(), expiring), &catalogv1.ListPlansRequest{}); err != nil {
		t.Fatal(err)
	}
	stops("expired", expiring, func() {
		if _, err := subs.ExpireApiKey(admin, &subscriptionv1.ExpireApiKeyRequest{KeyId: k.GetKeyId()}); err != nil {
			t.Fatal(err)
		}
	})

	// Reflection lists and describes without a key.
	stream, err := reflectionpb.NewServerReflectionClient(plainConn(t, r.GRPCAddr)).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || len(resp.GetListServicesResponse().GetService()) < 5 {
		t.Errorf("reflection without a key: %v, %v", resp, err)
	}
	stream.CloseSend()
}
