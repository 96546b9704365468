package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/server/servertest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// edgeLimit is the request size limit of the edge tests.
const edgeLimit = 64 << 10

func startEdge(t *testing.T) (catalogv1.CatalogServiceClient, *server.Server) {
	t.Helper()
	db := storagetest.SQLite(t, "catalog", fstest.MapFS{})
	if err := db.Conn(t.Context()).Exec("CREATE TABLE features (key TEXT PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	fake := &fakeCatalog{db: db}
	srv := servertest.StartConfig(t, config.Config{MaxRequestBytes: edgeLimit}, server.Service{
		Name: "catalog", GRPCName: catalogv1.CatalogService_ServiceDesc.ServiceName, DB: db,
		Register: func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, fake) },
		RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return catalogv1.RegisterCatalogServiceHandler(ctx, mux, conn)
		},
	})
	return catalogv1.NewCatalogServiceClient(srv.Conn()), srv
}

// rawCodec sends requests given as encoded bytes, so that a test can send
// what a protobuf library would refuse to encode.
type rawCodec struct{ encoding.CodecV2 }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(*b)}, nil
	}
	return c.CodecV2.Marshal(v)
}

type rawMessage []byte

func TestGRPCEdge(t *testing.T) {
	t.Parallel()
	client, srv := startEdge(t)
	create := func(f *catalogv1.Feature) error {
		_, err := client.CreateFeature(t.Context(), &catalogv1.CreateFeatureRequest{Feature: f})
		return err
	}
	// A CreateFeatureRequest whose feature.key is not valid UTF-8.
	feature := protowire.AppendTag(nil, 1, protowire.BytesType)
	feature = protowire.AppendString(feature, "\xff\xfe")
	badUTF8 := rawMessage(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), feature))

	for _, tc := range []struct {
		name      string
		call      func() error
		code      codes.Code
		field     string // the field violation expected, if any
		forbidden string // text the message must not show
	}{
		{name: "a NUL in a string is refused with its field", code: codes.InvalidArgument, field: "feature.name",
			call: func() error { return create(&catalogv1.Feature{Key: "k", Name: "a\x00b"}) }},
		{name: "invalid UTF-8 is refused as an invalid argument, not an internal error", code: codes.InvalidArgument,
			call: func() error {
				var out catalogv1.CreateFeatureResponse
				return srv.Conn().Invoke(t.Context(), catalogv1.CatalogService_CreateFeature_FullMethodName, &badUTF8, &out,
					grpc.ForceCodecV2(rawCodec{encoding.GetCodecV2("proto")}))
			}},
		{name: "a message over the limit is refused as resource exhausted", code: codes.ResourceExhausted,
			call: func() error { return create(&catalogv1.Feature{Key: "k", Name: strings.Repeat("x", edgeLimit+1)}) }},
		{name: "a peer's status leaves as internal without its text", code: codes.Internal, forbidden: "10.1.2.3",
			call: func() error { return create(&catalogv1.Feature{Key: "peer_down"}) }},
		{name: "unimplemented passes through", code: codes.Unimplemented,
			call: func() error { return create(&catalogv1.Feature{Key: "peer_unimplemented"}) }},
		{name: "a kind missing from the table is internal", code: codes.Internal, forbidden: "table lacks",
			call: func() error { return create(&catalogv1.Feature{Key: "unknown_kind"}) }},
		{name: "a huge message is cut", code: codes.NotFound, forbidden: strings.Repeat("x", 1100),
			call: func() error { return create(&catalogv1.Feature{Key: "long"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := status.Convert(tc.call())
			if st.Code() != tc.code {
				t.Fatalf("status = %v, want %v", st, tc.code)
			}
			if tc.forbidden != "" && strings.Contains(st.Message(), tc.forbidden) {
				t.Fatalf("message shows %.40q…", tc.forbidden)
			}
			if tc.field != "" {
				br, ok := st.Details()[0].(*errdetails.BadRequest)
				if !ok || br.GetFieldViolations()[0].GetField() != tc.field {
					t.Fatalf("details = %v, want a violation of %s", st.Details(), tc.field)
				}
			}
		})
	}

	t.Run("messages received on a stream are checked", func(t *testing.T) {
		t.Parallel()
		stream, err := healthpb.NewHealthClient(srv.Conn()).Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "a\x00"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
			t.Fatalf("Watch with a NUL = %v, want InvalidArgument", err)
		}
	})
	t.Run("reflection knows the error details", func(t *testing.T) {
		t.Parallel()
		stream, err := reflectionv1.NewServerReflectionClient(srv.Conn()).ServerReflectionInfo(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "google.rpc.BadRequest"}}); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil || resp.GetFileDescriptorResponse() == nil {
			t.Fatalf("reflection of google.rpc.BadRequest = %v, %v", resp, err)
		}
	})
}

func TestHTTPEdge(t *testing.T) {
	t.Parallel()
	_, srv := startEdge(t)
	base := "http://" + srv.HTTPAddr()

	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{name: "a body with trailing data is refused", method: "POST", path: "/v1/features", body: `{"feature":{"key":"a"}} x`, want: 400},
		{name: "a body with a second JSON value is refused", method: "POST", path: "/v1/features", body: `{"feature":{"key":"a"}}{}`, want: 400},
		{name: "a body with a NUL in a string is refused", method: "POST", path: "/v1/features", body: `{"feature":{"key":"a\u0000"}}`, want: 400},
		{name: "a body of invalid UTF-8 is refused", method: "POST", path: "/v1/features", body: "{\"feature\":{\"key\":\"\xff\"}}", want: 400},
		{name: "invalid UTF-8 in the path is refused", method: "GET", path: "/v1/features/%FF%FE", want: 400},
		{name: "a NUL in the path is refused", method: "GET", path: "/v1/features/a%00b", want: 400},
		{name: "invalid UTF-8 in the query is refused", method: "GET", path: "/v1/features?page_token=%FF", want: 400},
		{name: "a badly escaped query is refused", method: "GET", path: "/v1/features?page_token=%G0", want: 400},
		{name: "a known path with another method is 405", method: "PUT", path: "/v1/features", want: 405},
		{name: "an unknown path is 404", method: "GET", path: "/v1/nothing", want: 404},
		{name: "a body declared over the limit is 413", method: "POST", path: "/v1/features", body: `{"feature":{"name":"` + strings.Repeat("x", edgeLimit) + `"}}`, want: 413},
		{name: "a body within the limit is fine", method: "POST", path: "/v1/features", body: `{"feature":{"key":"ok"}}`, want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, raw, tc.want)
			}
			var body struct {
				Code    *int   `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || (tc.want != 200 && body.Code == nil) {
				t.Fatalf("body %s is not a JSON status: %v", raw, err)
			}
		})
	}

	t.Run("a streamed body over the limit is refused without reading it all", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		const total = 200 << 20
		var written atomic.Int64
		go func() {
			fmt.Fprintf(conn, "POST /v1/features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("x", 64<<10)))
			fmt.Fprintf(conn, "%x\r\n{\"feature\":{\"name\":\"\r\n", len(`{"feature":{"name":"`))
			for written.Load() < total {
				n, err := conn.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d, want 413", resp.StatusCode)
		}
		// The server stops reading at the limit; the rest is what the
		// sockets buffer, far below the body's size.
		if n := written.Load(); n > 32<<20 {
			t.Fatalf("the client could write %d bytes of the body", n)
		}
	})

	t.Run("metrics are labelled with the route", func(t *testing.T) {
		t.Parallel()
		resp, err := http.Get(base + "/v1/features/some_key")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(raw), `http_route="/v1/features/{feature_key}"`) {
			t.Fatalf("no metric labelled with the route /v1/features/{feature_key}:\n%s", grep(string(raw), "http_route"))
		}
	})
}

// grep returns the lines of s containing sub.
func grep(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
