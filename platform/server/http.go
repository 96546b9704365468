package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meterplane/meterplane/platform/textcheck"
)

// newGateway returns the grpc-gateway mux with the server's JSON rules:
// the responses named by rawBodies (full message names) are sent as their
// bytes, unpopulated fields are sent, a body with anything after its JSON value
// is refused, a body over the size limit is 413, a known path with the
// wrong method is 405, and each call records its route pattern for the
// HTTP metrics.
func newGateway(rawBodies []string) *runtime.ServeMux {
	names := map[protoreflect.FullName]bool{"google.api.HttpBody": true}
	for _, n := range rawBodies {
		names[protoreflect.FullName(n)] = true
	}
	return runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, rawBodyMarshaler{
			names: names,
			Marshaler: strictJSON{&runtime.JSONPb{
				MarshalOptions: protojson.MarshalOptions{EmitUnpopulated: true},
			}},
		}),
		runtime.WithErrorHandler(gatewayError),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithMiddlewares(recordRoute),
	)
}

// rawBody is a response the gateway sends as its bytes with its own
// Content-Type instead of as JSON: google.api.HttpBody, and the messages
// of the same shape (content_type, data) that services name in
// Service.RawBodies, which they declare without importing google/api (see
// "Protobuf and generation").
type rawBody interface {
	proto.Message
	GetContentType() string
	GetData() []byte
}

// rawBodyMarshaler sends the responses it names as their bytes and
// marshals everything else with the wrapped marshaler.
type rawBodyMarshaler struct {
	runtime.Marshaler
	names map[protoreflect.FullName]bool
}

func (m rawBodyMarshaler) raw(v any) (rawBody, bool) {
	b, ok := v.(rawBody)
	if !ok || !m.names[b.ProtoReflect().Descriptor().FullName()] {
		return nil, false
	}
	return b, true
}

// ContentType returns a raw body's content type, or the wrapped one's.
func (m rawBodyMarshaler) ContentType(v any) string {
	if b, ok := m.raw(v); ok {
		return b.GetContentType()
	}
	return m.Marshaler.ContentType(v)
}

// Marshal returns a raw body's bytes, or marshals v with the wrapped
// marshaler.
func (m rawBodyMarshaler) Marshal(v any) ([]byte, error) {
	if b, ok := m.raw(v); ok {
		return b.GetData(), nil
	}
	return m.Marshaler.Marshal(v)
}

// strictJSON is the gateway's JSON marshaler with a decoder that refuses
// trailing data after the request's JSON value.
type strictJSON struct{ *runtime.JSONPb }

// NewDecoder reads the whole body (bounded by the size limit) and decodes
// its one JSON value.
func (m strictJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return err // io.EOF for an empty body, which the gateway accepts
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return errors.New("unexpected data after the JSON value of the body")
		}
		return m.Unmarshal(value, v)
	})
}

// gatewayError writes a gateway error as the gateway does, except that a
// body over the size limit is 413 whatever the decoder made of it.
func gatewayError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if l, ok := r.Context().Value(limitKey{}).(*limitedBody); ok && l.exceeded {
		err = &runtime.HTTPStatusError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: l.err()}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// routingError answers 405 for a known path with another method, and as
// the gateway does otherwise.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		gatewayError(ctx, mux, m, w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusMethodNotAllowed,
			Err:        status.Errorf(codes.Unimplemented, "method %s is not allowed on this path", r.Method),
		})
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}

type routeKey struct{}

// recordRoute notes the matched route pattern for labelRoutes.
func recordRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
				*p = strings.ReplaceAll(pattern.String(), "=*}", "}")
			}
		}
		next(w, r, params)
	}
}

// labelRoutes sets r.Pattern, which otelhttp labels its metrics with
// (http_route), to the route the call matched: the gateway's route (noted
// by recordRoute) or the pattern of the plain route (/healthz, /readyz,
// /metrics; noted by notePattern).
func labelRoutes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var route string
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		r.Pattern = route
	})
}

// notePattern notes the pattern of the http.ServeMux route that served r
// unless the gateway noted a finer one.
func notePattern(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if p, ok := r.Context().Value(routeKey{}).(*string); ok && *p == "" {
			*p = r.Pattern
		}
	})
}

type limitKey struct{}

// limitedBody is a request body cut at the size limit by
// http.MaxBytesReader (which also makes the server close the connection
// instead of reading the rest); it remembers whether the limit was passed.
type limitedBody struct {
	io.ReadCloser
	limit    int64
	exceeded bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		l.exceeded = true
		err = l.err()
	}
	return n, err
}

func (l *limitedBody) err() error {
	return status.Errorf(codes.ResourceExhausted, "the request body is larger than the limit of %d bytes", l.limit)
}

// guardHTTP refuses, before the gateway sees them, a request whose body
// is declared larger than limit (413) and a request whose decoded path or
// query holds invalid UTF-8 or a NUL character (400), and limits the body
// it reads to limit bytes: past it the gateway answers 413 and the server
// reads no further and closes the connection. The upload paths have their
// own limits instead.
func guardHTTP(defaultLimit int64, uploads map[string]int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := defaultLimit
		if l, ok := uploads[r.URL.Path]; ok {
			limit = l
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			writeStatus(w, http.StatusRequestEntityTooLarge, status.New(codes.ResourceExhausted,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", limit)))
			return
		}
		if d := checkURL(r.URL); d != "" {
			writeStatus(w, http.StatusBadRequest, status.New(codes.InvalidArgument, d))
			return
		}
		body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit}
		r.Body = body
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), limitKey{}, body)))
	})
}

// checkURL describes what is wrong with the decoded path or query of u,
// or returns "".
func checkURL(u *url.URL) string {
	path, err := url.PathUnescape(u.EscapedPath())
	if err != nil {
		return "the path is not validly escaped"
	}
	if d := textcheck.String(path); d != "" {
		return "the path " + d
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "the query is not validly escaped"
	}
	for k, vs := range query {
		if d := textcheck.String(k); d != "" {
			return "query parameter names " + d
		}
		for _, v := range vs {
			if d := textcheck.String(v); d != "" {
				return fmt.Sprintf("query parameter %s %s", k, d)
			}
		}
	}
	return ""
}

// writeStatus writes st as JSON with the HTTP status code, as the
// gateway writes its errors.
func writeStatus(w http.ResponseWriter, code int, st *status.Status) {
	body, err := protojson.Marshal(st.Proto())
	if err != nil {
		body = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(body)
}
