// Command mpload is the load generator of the quota benchmarks: C callers
// loop one unary gRPC call (or a Reserve + Commit pair) over a few shared
// connections, first for a warm-up, then for a measured duration, and it
// prints one line: calls per second, p50, p99 and errors. It is kept light
// so that it takes little of the machine from the server it measures:
// each caller reuses its request and response messages and records
// latencies in a fixed histogram (package latency), so a call allocates
// nothing beyond what grpc-go does.
//
// The same generator measures both sides of each comparison in
// docs/benchmarks.md: -call health against the bare server of
// cmd/emptygrpc, -call check and -call reserve-commit against Meterplane.
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
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/meterplane/meterplane/bench/internal/apikey"
	"github.com/meterplane/meterplane/bench/internal/latency"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9090", "gRPC address of the server")
	flag.StringVar(&o.call, "call", "check", "what each caller loops: health, check or reserve-commit")
	flag.IntVar(&o.callers, "c", 32, "concurrent callers")
	flag.IntVar(&o.conns, "conns", 2, "gRPC connections the callers share (round robin)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before the measurement, not counted")
	flag.StringVar(&o.customer, "customer", "aegir-client-acme", "external id of the customer (check, reserve-commit)")
	flag.StringVar(&o.feature, "feature", "sites", "feature key of the single item")
	flag.BoolVar(&o.keys, "keys", true, "reserve-commit: send a request id with each Reserve and an idempotency key with each Commit, as a provisioner does")
	flag.StringVar(&o.label, "label", "", "label printed first on the result line (default: the call)")
	flag.Parse()
	if o.label == "" {
		o.label = o.call
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "mpload:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, call, customer, feature, label string
	callers, conns                       int
	duration, warmup                     time.Duration
	keys                                 bool
}

// caller makes one call (or pair) of caller number i, its n-th; it is
// built once per caller, with the messages it reuses.
type caller func(ctx context.Context, n int) error

func run(o options) error {
	if o.callers < 1 || o.conns < 1 {
		return errors.New("-c and -conns must be at least 1")
	}
	conns := make([]*grpc.ClientConn, o.conns)
	for i := range conns {
		c, err := grpc.NewClient(o.addr, grpc.WithTransportCredentials(insecure.NewCredentials()), apikey.DialOption())
		if err != nil {
			return err
		}
		defer c.Close()
		conns[i] = c
	}
	ctx := context.Background()
	customerID := ""
	if o.call != "health" {
		setup, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := subscriptionv1.NewSubscriptionServiceClient(conns[0]).ListCustomers(setup,
			&subscriptionv1.ListCustomersRequest{ExternalId: o.customer})
		if err != nil {
			return fmt.Errorf("find customer %s: %w", o.customer, err)
		}
		if len(res.GetCustomers()) != 1 {
			return fmt.Errorf("customer %s: found %d (start the server with --demo)", o.customer, len(res.GetCustomers()))
		}
		customerID = res.GetCustomers()[0].GetCustomerId()
	}
	callers := make([]caller, o.callers)
	for i := range callers {
		c, err := newCaller(o, conns[i%len(conns)], customerID, i)
		if err != nil {
			return err
		}
		callers[i] = c
	}
	// One call of each caller first, so that a setup error ends the run
	// instead of counting as errors.
	for _, c := range callers {
		if err := c(ctx, -1); err != nil {
			return fmt.Errorf("first call: %w", err)
		}
	}

	var measuring atomic.Bool
	stop := make(chan struct{})
	hists := make([]*latency.Histogram, o.callers)
	var wg sync.WaitGroup
	for i, c := range callers {
		h := &latency.Histogram{}
		hists[i] = h
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := c(ctx, n)
				if measuring.Load() {
					h.Add(time.Since(start), err)
				}
			}
		})
	}
	time.Sleep(o.warmup)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(o.duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	total := &latency.Histogram{}
	for _, h := range hists {
		total.Merge(h)
	}
	fmt.Printf("%s c=%d conns=%d d=%s calls=%d rate=%.0f/s p50=%s p99=%s errors=%d\n", o.label, o.callers, o.conns,
		o.duration, total.N, float64(total.N)/elapsed.Seconds(), total.Quantile(0.50), total.Quantile(0.99), total.Errors)
	if total.Errors > 0 {
		fmt.Fprintln(os.Stderr, "mpload: first error:", total.FirstErr)
	}
	return nil
}

func newCaller(o options, conn *grpc.ClientConn, customerID string, i int) (caller, error) {
	items := []*quotav1.Item{{FeatureKey: o.feature, Quantity: "1"}}
	switch o.call {
	case "health":
		req, res := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}
		return func(ctx context.Context, _ int) error {
			return conn.Invoke(ctx, healthpb.Health_Check_FullMethodName, req, res)
		}, nil
	case "check":
		req, res := &quotav1.CheckQuotaRequest{CustomerId: customerID, Items: items}, &quotav1.CheckQuotaResponse{}
		return func(ctx context.Context, _ int) error {
			return conn.Invoke(ctx, quotav1.QuotaService_CheckQuota_FullMethodName, req, res)
		}, nil
	case "reserve-commit":
		// Idempotency keys are unique per run, caller and call.
		prefix := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(i) + "-"
		reserve := &quotav1.ReserveRequest{CustomerId: customerID, Items: items, Ttl: durationpb.New(time.Minute)}
		reserved, commit, committed := &quotav1.ReserveResponse{}, &quotav1.CommitRequest{}, &quotav1.CommitResponse{}
		return func(ctx context.Context, n int) error {
			id := prefix + strconv.Itoa(n)
			if o.keys {
				reserve.IdempotencyKey = "r-" + id
				commit.IdempotencyKey = "c-" + id
			}
			if err := conn.Invoke(ctx, quotav1.QuotaService_Reserve_FullMethodName, reserve, reserved); err != nil {
				return err
			}
			if !reserved.GetAllowed() {
				return fmt.Errorf("reserve denied: %v (give the customer an unlimited or huge limit)", reserved.GetItems())
			}
			commit.ReservationId, commit.Subjects = reserved.GetReservation().GetReservationId(), []string{"site-" + id}
			return conn.Invoke(ctx, quotav1.QuotaService_Commit_FullMethodName, commit, committed)
		}, nil
	}
	return nil, fmt.Errorf("-call %q: want health, check or reserve-commit", o.call)
}
