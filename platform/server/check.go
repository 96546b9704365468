package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/textcheck"
)

// maxViolations caps the field violations one refused request reports.
const maxViolations = 10

// timestampName is the full name of google.protobuf.Timestamp.
const timestampName = "google.protobuf.Timestamp"

// checker refuses requests with a string or timestamp that textcheck
// rejects, except inside the item fields of the method's service.
type checker struct {
	// skip holds, per gRPC service name, the full names of the fields the
	// service checks item by item.
	skip map[string]map[protoreflect.FullName]bool
}

func newChecker(services []Service) *checker {
	c := &checker{skip: map[string]map[protoreflect.FullName]bool{}}
	for _, svc := range services {
		set := map[protoreflect.FullName]bool{}
		for _, f := range svc.ItemFields {
			set[protoreflect.FullName(f)] = true
		}
		c.skip[svc.GRPCName] = set
	}
	return c
}

// check returns an Invalid error naming the first bad fields of msg, a
// request of the gRPC method fullMethod, or nil.
func (c *checker) check(fullMethod string, msg any) error {
	if err := undecodable(msg); err != nil {
		return err
	}
	m, ok := msg.(proto.Message)
	if !ok {
		return nil
	}
	service, _, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	w := walker{skip: c.skip[service]}
	w.message("", m.ProtoReflect())
	return w.v.Err()
}

func (c *checker) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := c.check(info.FullMethod, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func (c *checker) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &checkedStream{ServerStream: ss, check: c.check, method: info.FullMethod})
	}
}

// checkedStream checks every message the client sends on a stream.
type checkedStream struct {
	grpc.ServerStream
	check  func(string, any) error
	method string
}

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.check(s.method, m)
}

// walker collects the violations of one message.
type walker struct {
	skip map[protoreflect.FullName]bool
	v    errs.Violations
}

func (w *walker) full() bool { return len(w.v) >= maxViolations }

func (w *walker) add(path, description string) {
	if !w.full() {
		w.v.Add(path, "%s", description)
	}
}

func join(prefix string, fd protoreflect.FieldDescriptor) string {
	if prefix == "" {
		return string(fd.Name())
	}
	return prefix + "." + string(fd.Name())
}

func (w *walker) message(path string, m protoreflect.Message) {
	if m.Descriptor().FullName() == timestampName {
		fields := m.Descriptor().Fields()
		ts := &timestamppb.Timestamp{
			Seconds: m.Get(fields.ByName("seconds")).Int(),
			Nanos:   int32(m.Get(fields.ByName("nanos")).Int()),
		}
		if d := textcheck.Timestamp(ts); d != "" {
			w.add(path, d)
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if w.skip[fd.FullName()] {
			return true
		}
		p := join(path, fd)
		switch {
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len() && !w.full(); i++ {
				w.value(fmt.Sprintf("%s[%d]", p, i), fd, list.Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if fd.MapKey().Kind() == protoreflect.StringKind {
					if d := textcheck.String(k.String()); d != "" {
						w.add(p, "keys "+d)
						return !w.full()
					}
				}
				w.value(p+"["+quoteKey(k)+"]", fd.MapValue(), mv)
				return !w.full()
			})
		default:
			w.value(p, fd, v)
		}
		return !w.full()
	})
}

// value checks one singular value (a list item, a map value or a field).
func (w *walker) value(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if d := textcheck.String(v.String()); d != "" {
			w.add(path, d)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(path, v.Message())
	}
}

// quoteKey renders a map key for a field path, shortened so that a huge key
// is not echoed back whole.
func quoteKey(k protoreflect.MapKey) string {
	s := k.String()
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return strconv.Quote(s)
}

// codec is the gRPC server's protobuf codec. A request the protobuf
// decoder refuses (for example a string that is not valid UTF-8) would be
// an Internal error in grpc-go, which wraps every codec error so; instead
// the codec remembers the message as undecodable and the request check
// refuses it as InvalidArgument.
type codec struct{ encoding.CodecV2 }

// failed maps a message the codec could not decode to why.
var failed sync.Map

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	proto.Reset(m)
	failed.Store(m, err)
	return nil
}

// undecodable returns an Invalid error if the codec could not decode msg.
func undecodable(msg any) error {
	err, ok := failed.LoadAndDelete(msg)
	if !ok {
		return nil
	}
	return &errs.Error{Kind: errs.Invalid, Message: "malformed request: " + err.(error).Error()}
}

func newCodec() encoding.CodecV2 {
	return codec{encoding.GetCodecV2("proto")}
}
