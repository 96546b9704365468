// Command mpsoak is the load generator of the soak benchmark
// (bench/soak.sh): for a long duration it keeps a steady mixed load on a
// Meterplane seeded with --demo, each kind of call at its own rate:
// IngestBatch, CheckQuota, Reserve + Commit, the reads GetQuotaStatus,
// ListInvoices and GetEntitlements, and a billing run (RunBilling) every
// minute. It prints progress each minute and, at the end, one Markdown
// table row per RPC: calls, errors, p50 and p99.
//
// The services may be one all-in-one binary (-addr) or separate processes
// (-subscription, -metering, -quota, -invoice).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meterplane/meterplane/bench/internal/apikey"
	"github.com/meterplane/meterplane/bench/internal/latency"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

type options struct {
	addr, subscription, metering, quota, invoice string
	duration, billingEvery                       time.Duration
	label                                        string
	// Calls per second of each kind, and events per IngestBatch.
	checkRate, reserveRate, ingestRate, readRate float64
	batch                                        int
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9090", "gRPC address of every service (the all-in-one binary)")
	flag.StringVar(&o.subscription, "subscription", "", "gRPC address of the subscription service (default -addr)")
	flag.StringVar(&o.metering, "metering", "", "gRPC address of the metering service (default -addr)")
	flag.StringVar(&o.quota, "quota", "", "gRPC address of the quota service (default -addr)")
	flag.StringVar(&o.invoice, "invoice", "", "gRPC address of the invoice service (default -addr)")
	flag.DurationVar(&o.duration, "d", 10*time.Minute, "how long the load runs")
	flag.DurationVar(&o.billingEvery, "billing-every", time.Minute, "how often a billing run is started")
	flag.Float64Var(&o.checkRate, "check-rate", 200, "CheckQuota calls per second")
	flag.Float64Var(&o.reserveRate, "reserve-rate", 20, "Reserve + Commit pairs per second")
	flag.Float64Var(&o.ingestRate, "ingest-rate", 5, "IngestBatch calls per second")
	flag.IntVar(&o.batch, "batch", 100, "events per IngestBatch")
	flag.Float64Var(&o.readRate, "read-rate", 20, "calls per second of each read (GetQuotaStatus, GetEntitlements; ListInvoices at a quarter)")
	flag.StringVar(&o.label, "label", "", "first column of the result rows")
	flag.Parse()
	for _, a := range []*string{&o.subscription, &o.metering, &o.quota, &o.invoice} {
		if *a == "" {
			*a = o.addr
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "mpsoak:", err)
		os.Exit(1)
	}
}

// kind is one kind of call: its loop makes one call (or pair) each tick.
type kind struct {
	name string
	rate float64
	// callers is how many goroutines share the rate, so that a slow call
	// does not hold the others back.
	callers int
	call    func(ctx context.Context, n int) error

	calls, errs atomic.Int64
	mu          sync.Mutex
	hist        latency.Histogram
}

func run(o options) error {
	ctx := context.Background()
	dial := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), apikey.DialOption())
	}
	conns := map[string]*grpc.ClientConn{}
	for _, a := range []string{o.subscription, o.metering, o.quota, o.invoice} {
		if conns[a] == nil {
			c, err := dial(a)
			if err != nil {
				return err
			}
			defer c.Close()
			conns[a] = c
		}
	}
	subs := subscriptionv1.NewSubscriptionServiceClient(conns[o.subscription])
	metering := meteringv1.NewMeteringServiceClient(conns[o.metering])
	quota := quotav1.NewQuotaServiceClient(conns[o.quota])
	invoice := invoicev1.NewInvoiceServiceClient(conns[o.invoice])

	// The demo's customers: acme has a hard limit of 50 sites (checks);
	// the reseller may hold any number (reservations).
	customer := func(ext string) (string, error) {
		setup, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := subs.ListCustomers(setup, &subscriptionv1.ListCustomersRequest{ExternalId: ext})
		if err != nil {
			return "", fmt.Errorf("find customer %s: %w", ext, err)
		}
		if len(res.GetCustomers()) != 1 {
			return "", fmt.Errorf("customer %s: found %d (seed with --demo)", ext, len(res.GetCustomers()))
		}
		return res.GetCustomers()[0].GetCustomerId(), nil
	}
	acme, err := customer("aegir-client-acme")
	if err != nil {
		return err
	}
	reseller, err := customer("aegir-client-reseller")
	if err != nil {
		return err
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	sites := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}

	kinds := []*kind{
		{name: "CheckQuota", rate: o.checkRate, callers: 8, call: func(ctx context.Context, _ int) error {
			_, err := quota.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: acme, Items: sites})
			return err
		}},
		{name: "Reserve+Commit", rate: o.reserveRate, callers: 4, call: func(ctx context.Context, n int) error {
			id := run + "-" + strconv.Itoa(n)
			r, err := quota.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: reseller, Items: sites, Ttl: durationpb.New(time.Minute),
				IdempotencyKey: "r-" + id})
			if err != nil {
				return err
			}
			if !r.GetAllowed() {
				return fmt.Errorf("reserve denied: %v", r.GetItems())
			}
			_, err = quota.Commit(ctx, &quotav1.CommitRequest{ReservationId: r.GetReservation().GetReservationId(),
				Subjects: []string{"soak-" + id}, IdempotencyKey: "c-" + id})
			return err
		}},
		{name: "IngestBatch", rate: o.ingestRate, callers: 2, call: func(ctx context.Context, n int) error {
			events := make([]*meteringv1.UsageEvent, o.batch)
			now := timestamppb.Now()
			for i := range events {
				cus := acme
				if i%2 == 1 {
					cus = reseller
				}
				events[i] = &meteringv1.UsageEvent{CustomerId: cus, MeterKey: "bandwidth", Quantity: "0.01", Time: now,
					IdempotencyKey: fmt.Sprintf("soak-%s-%d-%d", run, n, i), Source: "soak"}
			}
			res, err := metering.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events})
			if err != nil {
				return err
			}
			for _, r := range res.GetResults() {
				if r.GetStatus() != meteringv1.EventStatus_EVENT_STATUS_ACCEPTED {
					return fmt.Errorf("event %d: %v %s", r.GetIndex(), r.GetError(), r.GetMessage())
				}
			}
			return nil
		}},
		{name: "GetQuotaStatus", rate: o.readRate, callers: 2, call: func(ctx context.Context, _ int) error {
			_, err := quota.GetQuotaStatus(ctx, &quotav1.GetQuotaStatusRequest{CustomerId: acme})
			return err
		}},
		{name: "GetEntitlements", rate: o.readRate, callers: 2, call: func(ctx context.Context, _ int) error {
			_, err := subs.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: reseller})
			return err
		}},
		{name: "ListInvoices", rate: o.readRate / 4, callers: 1, call: func(ctx context.Context, _ int) error {
			_, err := invoice.ListInvoices(ctx, &invoicev1.ListInvoicesRequest{CustomerId: acme})
			return err
		}},
		{name: "RunBilling", rate: 1 / o.billingEvery.Seconds(), callers: 1, call: func(ctx context.Context, _ int) error {
			_, err := invoice.RunBilling(ctx, &invoicev1.RunBillingRequest{})
			return err
		}},
	}

	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	var seq atomic.Int64
	for _, k := range kinds {
		if k.rate <= 0 {
			continue
		}
		every := time.Duration(float64(time.Second) * float64(k.callers) / k.rate)
		for c := range k.callers {
			wg.Go(func() { k.loop(runCtx, every, time.Duration(c)*every/time.Duration(k.callers), &seq) })
		}
	}
	start := time.Now()
	progress := time.NewTicker(time.Minute)
	defer progress.Stop()
	for done := false; !done; {
		select {
		case <-runCtx.Done():
			done = true
		case <-progress.C:
			line := fmt.Sprintf("mpsoak: %s", time.Since(start).Round(time.Second))
			for _, k := range kinds {
				line += fmt.Sprintf(" %s=%d/%d", k.name, k.calls.Load(), k.errs.Load())
			}
			fmt.Fprintln(os.Stderr, line+" (calls/errors)")
		}
	}
	wg.Wait()

	var failed error
	for _, k := range kinds {
		h := &k.hist
		fmt.Printf("| %s | %s | %d | %d | %s | %s |\n", o.label, k.name, h.N+h.Errors, h.Errors, h.Quantile(0.50), h.Quantile(0.99))
		if h.Errors > 0 {
			fmt.Fprintf(os.Stderr, "mpsoak: %s: first error: %v\n", k.name, h.FirstErr)
			failed = errors.New("calls failed")
		}
	}
	return failed
}

// loop makes a call every interval, the first after offset, until ctx
// ends. A call that outlasts its interval delays the next; none is made
// up for.
func (k *kind) loop(ctx context.Context, every, offset time.Duration, seq *atomic.Int64) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset):
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var h latency.Histogram
	defer func() {
		k.mu.Lock()
		k.hist.Merge(&h)
		k.mu.Unlock()
	}()
	for {
		// A call still running when the run ends finishes with time to
		// spare, so that the end of the run is no error.
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		start := time.Now()
		err := k.call(callCtx, int(seq.Add(1)))
		cancel()
		h.Add(time.Since(start), err)
		k.calls.Add(1)
		if err != nil {
			k.errs.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
