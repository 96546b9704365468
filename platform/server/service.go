package server

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/storage"
)

// Service is one Meterplane service as the shared server hosts it. The
// all-in-one binary hosts several in one server; a standalone binary hosts one.
type Service struct {
	// Name is the service's short name, for example "catalog".
	Name string
	// GRPCName is the full protobuf service name, for example
	// "meterplane.catalog.v1.CatalogService"; health reports it.
	GRPCName string
	// DB is the service's database. The server checks it for readiness,
	// keeps the idempotency keys of the service's calls in it (holding no
	// transaction while a handler runs), prunes it (see Prune), and closes
	// it last.
	DB *storage.DB
	// Register registers the gRPC implementation.
	Register func(*grpc.Server)
	// RegisterGateway registers the HTTP/JSON handlers that call conn.
	RegisterGateway func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error
	// Workers run while the server serves, each in its own goroutine, for
	// example an outbox relay or a bus consumer; their context is cancelled
	// at shutdown before the databases close. A worker should return when
	// its context is done; an error it returns is logged.
	Workers []func(ctx context.Context) error
	// ItemFields names the repeated fields (full protobuf names, such as
	// "meterplane.metering.v1.IngestBatchRequest.events") whose items the
	// service checks one by one, answering each item's fault in its
	// response instead of refusing the whole request. The server's request
	// check (strings, timestamps; package textcheck) skips them.
	ItemFields []string
	// Uploads names the HTTP paths (as requested, such as
	// "/v1/usageReports:upload") whose request bodies the service streams
	// to a client-streaming RPC, in messages each within the size limit,
	// with the largest body each may have: the server refuses larger ones
	// as it refuses any body over MP_MAX_REQUEST_BYTES elsewhere.
	Uploads map[string]int64
	// Streams names the HTTP paths (as requested, such as
	// "/v1/usageReports:download") whose responses stream from a
	// server-streaming RPC: like the upload paths, they are not bounded by
	// the per-request timeout (MP_HTTP_REQUEST_TIMEOUT) of unary routes.
	Streams []string
	// RawBodies names the response messages (full protobuf names, such as
	// "meterplane.invoice.v1.GetInvoiceDocumentResponse") that the HTTP
	// gateway sends as their bytes, with their own Content-Type, instead
	// of as JSON, as it sends google.api.HttpBody: each has the fields
	// content_type (string) and data (bytes) and nothing else, and is the
	// response of a unary method.
	RawBodies []string
	// OwnKeys names the methods (full gRPC names, such as
	// "/meterplane.quota.v1.QuotaService/Reserve") whose idempotency_key
	// the service handles in its domain: the server's interceptor neither
	// stores nor replays their answers. For a call whose answer must not be
	// replayed, such as a denial that a retry must judge afresh, and for a
	// call idempotent by itself, whose request names its operation (a
	// reservation to commit) and whose repeat is answered from the state it
	// left: storing its answer would cost two more writes, each with its
	// own commit.
	OwnKeys []string
	// Keys, set by the service that owns the API keys (subscription),
	// verifies them in this process.
	Keys auth.Verifier
}
