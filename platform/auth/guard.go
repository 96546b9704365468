package auth

import (
	"context"
	"crypto/subtle"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meterplane/meterplane/platform/errs"
)

// ServiceKeyID is the key id of the service credential, which no API key
// may take.
const ServiceKeyID = "service"

// Guard enforces Policy on every call: it finds the caller by the
// "authorization: Bearer <token>" metadata (the HTTP gateway forwards the
// Authorization header as that), checks the rule of the method, and
// passes the caller on in the context.
type Guard struct {
	verifier Verifier
	service  []byte
}

// NewGuard returns a guard that verifies tokens with v (cache it: see
// Cache) and knows serviceToken as the service credential.
func NewGuard(v Verifier, serviceToken string) *Guard {
	return &Guard{verifier: v, service: []byte(serviceToken)}
}

// Unary is the guard as a unary interceptor.
func (g *Guard) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		msg, _ := req.(proto.Message)
		ctx, err := g.admit(ctx, info.FullMethod, msg)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Stream is the guard as a stream interceptor. A streaming RPC's rule may
// not name a request field (its requests come later), so a customer key's
// streams are those of Scoped rules only.
func (g *Guard) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := g.admit(ss.Context(), info.FullMethod, nil)
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }

// admit returns ctx with the caller if the caller may call method with
// req.
func (g *Guard) admit(ctx context.Context, method string, req proto.Message) (context.Context, error) {
	if Open[method] {
		return ctx, nil
	}
	rule, ok := Policy[method]
	if !ok {
		return nil, errs.New(errs.PermissionDenied, "%s has no access rule", method)
	}
	c, err := g.caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := rule.allows(c, req); err != nil {
		return nil, err
	}
	return NewContext(ctx, c), nil
}

// caller finds who calls by the call's token.
func (g *Guard) caller(ctx context.Context) (Caller, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return Caller{}, errs.New(errs.Unauthenticated, "missing API key: send authorization: Bearer mp_…")
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(values) > 1 {
		return Caller{}, errs.New(errs.Unauthenticated, "malformed authorization: want Bearer mp_…")
	}
	token = strings.TrimSpace(token)
	if len(g.service) > 0 && subtle.ConstantTimeCompare([]byte(token), g.service) == 1 {
		return Caller{KeyID: ServiceKeyID, Role: Service}, nil
	}
	return g.verifier.Verify(ctx, token)
}

// allows checks the rule for caller c and request req.
func (r Rule) allows(c Caller, req proto.Message) error {
	switch {
	case c.Role == Admin:
		return nil
	case c.Role == Service:
		if r.Keys {
			return errs.New(errs.PermissionDenied, "the service credential may not manage API keys")
		}
		return nil
	case !slices.Contains(r.Roles, c.Role):
		return errs.New(errs.PermissionDenied, "a %s key may not make this call", c.Role)
	case c.Role != Customer || r.Customer == "":
		if c.Role == Customer && !r.Scoped {
			return errs.New(errs.PermissionDenied, "a customer key may not make this call")
		}
		return nil
	}
	id := stringField(req, r.Customer)
	switch {
	case id == "" && r.Scoped:
		return nil
	case id == "":
		return errs.Field(r.Customer, "a customer key must name its customer")
	case !c.Sees(id):
		// As if it did not exist: a key learns nothing of other customers.
		return errs.New(errs.NotFound, "customer %q not found", errs.Short(id))
	}
	return nil
}

// stringField returns the string field name of msg, or "".
func stringField(msg proto.Message, name string) string {
	if msg == nil {
		return ""
	}
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return m.Get(fd).String()
}
