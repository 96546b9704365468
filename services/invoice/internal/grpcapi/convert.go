package grpcapi

import (
	"google.golang.org/protobuf/encoding/protojson"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

var statuses = map[invoice.Status]invoicev1.InvoiceStatus{
	invoice.StatusDraft:     invoicev1.InvoiceStatus_INVOICE_STATUS_DRAFT,
	invoice.StatusFinalized: invoicev1.InvoiceStatus_INVOICE_STATUS_FINALIZED,
	invoice.StatusPaid:      invoicev1.InvoiceStatus_INVOICE_STATUS_PAID,
	invoice.StatusVoid:      invoicev1.InvoiceStatus_INVOICE_STATUS_VOID,
}

// statusIn returns the domain status of a filter: "" for UNSPECIFIED, and
// false for a value this server does not know.
func statusIn(p invoicev1.InvoiceStatus) (invoice.Status, bool) {
	if p == invoicev1.InvoiceStatus_INVOICE_STATUS_UNSPECIFIED {
		return "", true
	}
	for d, v := range statuses {
		if v == p {
			return d, true
		}
	}
	return "", false
}

var runStatuses = map[invoice.RunStatus]invoicev1.BillingRunStatus{
	invoice.RunRunning:   invoicev1.BillingRunStatus_BILLING_RUN_STATUS_RUNNING,
	invoice.RunCompleted: invoicev1.BillingRunStatus_BILLING_RUN_STATUS_COMPLETED,
	invoice.RunFailed:    invoicev1.BillingRunStatus_BILLING_RUN_STATUS_FAILED,
}

var lineKinds = map[rating.Kind]invoicev1.LineKind{
	rating.KindRecurringFee:    invoicev1.LineKind_LINE_KIND_RECURRING_FEE,
	rating.KindProrationCredit: invoicev1.LineKind_LINE_KIND_PRORATION_CREDIT,
	rating.KindProrationCharge: invoicev1.LineKind_LINE_KIND_PRORATION_CHARGE,
	rating.KindUsage:           invoicev1.LineKind_LINE_KIND_USAGE,
	rating.KindOverage:         invoicev1.LineKind_LINE_KIND_OVERAGE,
	rating.KindOneTimeFee:      invoicev1.LineKind_LINE_KIND_ONE_TIME_FEE,
	rating.KindCredit:          invoicev1.LineKind_LINE_KIND_CREDIT,
	invoice.KindAdjustment:     invoicev1.LineKind_LINE_KIND_ADJUSTMENT,
}

func periodOut(p rating.Period) *commonv1.Period {
	return &commonv1.Period{Start: pbtime.New(p.From), End: pbtime.New(p.To)}
}

// invoiceOut converts an invoice, with its lines when withLines.
func invoiceOut(inv invoice.Invoice, withLines bool) *invoicev1.Invoice {
	cur := inv.Currency
	out := &invoicev1.Invoice{InvoiceId: inv.ID, Number: inv.Number, CustomerId: inv.CustomerID, SubscriptionId: inv.SubscriptionID,
		Currency: cur.Code, Period: periodOut(inv.Period), Status: statuses[inv.Status],
		Subtotal: cur.FormatAmount(inv.Subtotal), CreditApplied: cur.FormatAmount(inv.CreditApplied), Total: cur.FormatAmount(inv.Total),
		Credited: cur.FormatAmount(inv.Credited), BillingRunId: inv.RunID, CreateTime: pbtime.New(inv.Created),
		UpdateTime: pbtime.New(inv.Updated), FinalizeTime: pbtime.New(inv.Finalized), PaidTime: pbtime.New(inv.Paid),
		VoidTime: pbtime.New(inv.Voided)}
	if withLines {
		for _, l := range inv.Lines {
			out.Lines = append(out.Lines, &invoicev1.InvoiceLine{LineId: l.ID, Kind: lineKinds[l.Kind], Description: l.Description,
				FeatureKey: l.Feature, Quantity: l.Quantity.String(), UnitPrice: money.FormatPrice(l.UnitPrice, cur.Code),
				Amount: cur.FormatAmount(l.Amount), Period: periodOut(l.Period), SubscriptionId: l.SubscriptionID,
				PlanKey: l.PlanKey, PlanVersion: int32(l.PlanVersion), ErpProductId: l.ERPProductID, ErpUnitId: l.ERPUnitID})
		}
	}
	return out
}

func creditNoteOut(cn invoice.CreditNote) *invoicev1.CreditNote {
	return &invoicev1.CreditNote{CreditNoteId: cn.ID, Number: cn.Number, InvoiceId: cn.InvoiceID, CustomerId: cn.CustomerID,
		Currency: cn.Currency.Code, Amount: cn.Currency.FormatAmount(cn.Amount), Reason: cn.Reason, CreateTime: pbtime.New(cn.Created)}
}

func runOut(r invoice.Run) *invoicev1.BillingRun {
	return &invoicev1.BillingRun{RunId: r.ID, AsOf: pbtime.New(r.AsOf), Status: runStatuses[r.Status], Periods: r.Periods,
		InvoicesCreated: r.Created, InvoicesUpdated: r.Updated, InvoicesUnchanged: r.Unchanged, InvoicesFinalized: r.Finalized,
		Failures: r.Failures, StartTime: pbtime.New(r.Start), EndTime: pbtime.New(r.End), Error: r.Error}
}

// EncodeFinalized is the payload of an invoice.finalized event: the JSON
// form of invoicev1.InvoiceFinalized, every line with its ERP ids.
func EncodeFinalized(inv invoice.Invoice) ([]byte, error) {
	return protojson.Marshal(&invoicev1.InvoiceFinalized{Invoice: invoiceOut(inv, true)})
}
