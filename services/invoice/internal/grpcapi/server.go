// Package grpcapi serves the invoice service's gRPC API: it translates
// protobuf to domain calls and back, nothing else.
package grpcapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
)

// Server implements invoicev1.InvoiceServiceServer.
type Server struct {
	invoicev1.UnimplementedInvoiceServiceServer
	svc *invoice.Service
}

// New returns a Server calling svc.
func New(svc *invoice.Service) *Server { return &Server{svc: svc} }

// RegisterGateway registers the HTTP/JSON handlers of the service, and
// GET /v1/invoices/{invoice_id}/document.html as the document.pdf route
// with format HTML.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
	if err := invoicev1.RegisterInvoiceServiceHandler(ctx, mux, conn); err != nil {
		return err
	}
	return mux.HandlePath(http.MethodGet, "/v1/invoices/{invoice_id}/document.html",
		func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
			r = r.Clone(r.Context())
			q := r.URL.Query()
			q.Set("format", invoicev1.DocumentFormat_DOCUMENT_FORMAT_HTML.String())
			r.URL.RawQuery = q.Encode()
			r.URL.Path = strings.TrimSuffix(r.URL.Path, ".html") + ".pdf"
			r.URL.RawPath = ""
			mux.ServeHTTP(w, r)
		})
}

// RunBilling runs billing up to as_of.
func (s *Server) RunBilling(ctx context.Context, req *invoicev1.RunBillingRequest) (*invoicev1.RunBillingResponse, error) {
	run, err := s.svc.RunBilling(ctx, invoice.RunInput{AsOf: pbtime.Time(req.GetAsOf())})
	if err != nil {
		return nil, err
	}
	return &invoicev1.RunBillingResponse{BillingRun: runOut(run)}, nil
}

// GetBillingRun returns one run.
func (s *Server) GetBillingRun(ctx context.Context, req *invoicev1.GetBillingRunRequest) (*invoicev1.GetBillingRunResponse, error) {
	run, err := s.svc.GetRun(ctx, req.GetRunId())
	if err != nil {
		return nil, err
	}
	return &invoicev1.GetBillingRunResponse{BillingRun: runOut(run)}, nil
}

// ListBillingRuns lists runs, newest first.
func (s *Server) ListBillingRuns(ctx context.Context, req *invoicev1.ListBillingRunsRequest) (*invoicev1.ListBillingRunsResponse, error) {
	p, err := s.svc.ListRuns(ctx, page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	out := &invoicev1.ListBillingRunsResponse{NextPageToken: p.NextToken}
	for _, r := range p.Items {
		out.BillingRuns = append(out.BillingRuns, runOut(r))
	}
	return out, nil
}

// GetInvoice returns one invoice with its lines.
func (s *Server) GetInvoice(ctx context.Context, req *invoicev1.GetInvoiceRequest) (*invoicev1.GetInvoiceResponse, error) {
	inv, err := s.svc.GetInvoice(ctx, req.GetInvoiceId())
	if err != nil {
		return nil, err
	}
	return &invoicev1.GetInvoiceResponse{Invoice: invoiceOut(inv, true)}, nil
}

// ListInvoices lists invoices without lines, newest first.
func (s *Server) ListInvoices(ctx context.Context, req *invoicev1.ListInvoicesRequest) (*invoicev1.ListInvoicesResponse, error) {
	status, ok := statusIn(req.GetStatus())
	if !ok {
		return nil, errs.Field("status", "is not a known invoice status")
	}
	p, err := s.svc.ListInvoices(ctx, invoice.ListInput{CustomerID: req.GetCustomerId(), Status: status,
		PeriodFrom: pbtime.Time(req.GetPeriod().GetStart()), PeriodTo: pbtime.Time(req.GetPeriod().GetEnd()),
		Page: page.Request{Size: req.GetPageSize(), Token: req.GetPageToken()}})
	if err != nil {
		return nil, err
	}
	out := &invoicev1.ListInvoicesResponse{NextPageToken: p.NextToken}
	for _, inv := range p.Items {
		out.Invoices = append(out.Invoices, invoiceOut(inv, false))
	}
	return out, nil
}

// FinalizeInvoice finalizes a draft.
func (s *Server) FinalizeInvoice(ctx context.Context, req *invoicev1.FinalizeInvoiceRequest) (*invoicev1.FinalizeInvoiceResponse, error) {
	inv, err := s.svc.Finalize(ctx, req.GetInvoiceId())
	if err != nil {
		return nil, err
	}
	return &invoicev1.FinalizeInvoiceResponse{Invoice: invoiceOut(inv, true)}, nil
}

// VoidInvoice voids a finalized invoice with a credit note.
func (s *Server) VoidInvoice(ctx context.Context, req *invoicev1.VoidInvoiceRequest) (*invoicev1.VoidInvoiceResponse, error) {
	inv, cn, err := s.svc.Void(ctx, req.GetInvoiceId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	out := &invoicev1.VoidInvoiceResponse{Invoice: invoiceOut(inv, true)}
	if cn != nil {
		out.CreditNote = creditNoteOut(*cn)
	}
	return out, nil
}

// MarkInvoicePaid marks a finalized invoice paid.
func (s *Server) MarkInvoicePaid(ctx context.Context, req *invoicev1.MarkInvoicePaidRequest) (*invoicev1.MarkInvoicePaidResponse, error) {
	inv, err := s.svc.MarkPaid(ctx, req.GetInvoiceId())
	if err != nil {
		return nil, err
	}
	return &invoicev1.MarkInvoicePaidResponse{Invoice: invoiceOut(inv, true)}, nil
}

// IssueCreditNote credits part or all of an invoice.
func (s *Server) IssueCreditNote(ctx context.Context, req *invoicev1.IssueCreditNoteRequest) (*invoicev1.IssueCreditNoteResponse, error) {
	cn, err := s.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: req.GetInvoiceId(), Amount: req.GetAmount(), Reason: req.GetReason()})
	if err != nil {
		return nil, err
	}
	return &invoicev1.IssueCreditNoteResponse{CreditNote: creditNoteOut(cn)}, nil
}

// ListCreditNotes lists an invoice's credit notes.
func (s *Server) ListCreditNotes(ctx context.Context, req *invoicev1.ListCreditNotesRequest) (*invoicev1.ListCreditNotesResponse, error) {
	cns, err := s.svc.ListCreditNotes(ctx, req.GetInvoiceId())
	if err != nil {
		return nil, err
	}
	out := &invoicev1.ListCreditNotesResponse{}
	for _, cn := range cns {
		out.CreditNotes = append(out.CreditNotes, creditNoteOut(cn))
	}
	return out, nil
}

// PreviewInvoice rates the customer's current period, storing nothing.
func (s *Server) PreviewInvoice(ctx context.Context, req *invoicev1.PreviewInvoiceRequest) (*invoicev1.PreviewInvoiceResponse, error) {
	invs, err := s.svc.Preview(ctx, req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	out := &invoicev1.PreviewInvoiceResponse{}
	for _, inv := range invs {
		out.Invoices = append(out.Invoices, invoiceOut(inv, true))
	}
	return out, nil
}

// GetResellerSummary lists a reseller's customers' invoices of a period.
func (s *Server) GetResellerSummary(ctx context.Context, req *invoicev1.GetResellerSummaryRequest) (*invoicev1.GetResellerSummaryResponse, error) {
	sum, err := s.svc.ResellerSummary(ctx, invoice.SummaryInput{ResellerID: req.GetCustomerId(),
		PeriodFrom: pbtime.Time(req.GetPeriod().GetStart()), PeriodTo: pbtime.Time(req.GetPeriod().GetEnd())})
	if err != nil {
		return nil, err
	}
	out := &invoicev1.GetResellerSummaryResponse{CustomerId: sum.ResellerID, Period: req.GetPeriod()}
	codes := make([]string, 0, len(sum.Totals))
	for _, inv := range sum.Invoices {
		out.Invoices = append(out.Invoices, invoiceOut(inv, false))
		if !slices.Contains(codes, inv.Currency.Code) {
			codes = append(codes, inv.Currency.Code)
			cur := inv.Currency
			out.Totals = append(out.Totals, &commonv1.Money{Amount: cur.FormatAmount(sum.Totals[cur.Code]), Currency: cur.Code})
		}
	}
	return out, nil
}

// GetInvoiceDocument renders an invoice.
func (s *Server) GetInvoiceDocument(ctx context.Context, req *invoicev1.GetInvoiceDocumentRequest) (*invoicev1.GetInvoiceDocumentResponse, error) {
	var f invoice.Format
	switch req.GetFormat() {
	case invoicev1.DocumentFormat_DOCUMENT_FORMAT_UNSPECIFIED, invoicev1.DocumentFormat_DOCUMENT_FORMAT_PDF:
		f = invoice.PDF
	case invoicev1.DocumentFormat_DOCUMENT_FORMAT_HTML:
		f = invoice.HTML
	default:
		return nil, errs.Field("format", "must be PDF or HTML")
	}
	ct, data, err := s.svc.Document(ctx, req.GetInvoiceId(), f)
	if err != nil {
		return nil, err
	}
	return &invoicev1.GetInvoiceDocumentResponse{ContentType: ct, Data: data}, nil
}
