package grpcapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
)

// DownloadPath is the HTTP route of ExportUsageReportStream (see
// metering.http.yaml).
const DownloadPath = "/v1/usageReports:download"

// UploadPath is the HTTP route of ImportUsageReportStream: the body is the
// document, up to report.MaxSize bytes; the format is a query parameter.
const UploadPath = "/v1/usageReports:upload"

// uploadChunk is the size of the messages an upload is sent in.
const uploadChunk = 1 << 20

// RegisterGateway registers the HTTP/JSON handlers of the service and,
// over the generated one, the download of ExportUsageReportStream: the
// generated handler writes a delimiter (a newline) after each message,
// this one writes the chunks' data and nothing else, so that the download
// is the document, byte for byte, written as it is read.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := meteringv1.RegisterMeteringServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	client := meteringv1.NewMeteringServiceClient(conn)
	if err := mux.HandlePath(http.MethodPost, UploadPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		upload(mux, client, w, r)
	}); err != nil {
		return err
	}
	return mux.HandlePath(http.MethodGet, DownloadPath, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
		download(mux, client, w, r)
	})
}

// download answers GET /v1/usageReports:download. An error before the
// first chunk is an HTTP error status; after it, the response is aborted,
// so that the client sees a failed download rather than a short document.
func download(mux *runtime.ServeMux, client meteringv1.MeteringServiceClient, w http.ResponseWriter, r *http.Request) {
	_, outbound := runtime.MarshalerForRequest(mux, r)
	ctx, err := runtime.AnnotateContext(r.Context(), mux, r, meteringv1.MeteringService_ExportUsageReportStream_FullMethodName,
		runtime.WithHTTPPathPattern(DownloadPath))
	fail := func(err error) { runtime.HTTPError(ctx, mux, outbound, w, r, err) }
	if err != nil {
		fail(err)
		return
	}
	req := &meteringv1.ExportUsageReportStreamRequest{}
	if err := r.ParseForm(); err != nil {
		fail(status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	if err := runtime.PopulateQueryParameters(req, r.Form, utilities.NewDoubleArray(nil)); err != nil {
		fail(status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	stream, err := client.ExportUsageReportStream(ctx, req)
	if err != nil {
		fail(err)
		return
	}
	rc := http.NewResponseController(w)
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil && first {
			fail(err)
			return
		}
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if first {
			w.Header().Set("Content-Type", msg.GetContentType())
			w.WriteHeader(http.StatusOK)
		}
		if _, err := w.Write(msg.GetData()); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// upload answers POST /v1/usageReports:upload?format=…: it sends the body,
// the document, to ImportUsageReportStream in chunks as it reads them and
// answers with the import's counts as JSON.
func upload(mux *runtime.ServeMux, client meteringv1.MeteringServiceClient, w http.ResponseWriter, r *http.Request) {
	_, outbound := runtime.MarshalerForRequest(mux, r)
	ctx, err := runtime.AnnotateContext(r.Context(), mux, r, meteringv1.MeteringService_ImportUsageReportStream_FullMethodName,
		runtime.WithHTTPPathPattern(UploadPath))
	fail := func(err error) { runtime.HTTPError(ctx, mux, outbound, w, r, err) }
	if err != nil {
		fail(err)
		return
	}
	first := &meteringv1.ImportUsageReportStreamRequest{}
	if err := runtime.PopulateQueryParameters(first, r.URL.Query(), utilities.NewDoubleArray(nil)); err != nil {
		fail(status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	stream, err := client.ImportUsageReportStream(ctx)
	if err != nil {
		fail(err)
		return
	}
	buf := make([]byte, uploadChunk)
	msg := first
	for {
		n, rerr := io.ReadFull(r.Body, buf)
		msg.Data = buf[:n]
		if n > 0 || msg == first {
			if err := stream.Send(msg); err != nil {
				break // the server ended the call; CloseAndRecv says why
			}
		}
		msg = &meteringv1.ImportUsageReportStreamRequest{}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			stream.CloseSend()
			fail(rerr) // the size limit (413) or a broken body
			return
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		fail(err)
		return
	}
	runtime.ForwardResponseMessage(ctx, mux, outbound, w, r, res)
}
