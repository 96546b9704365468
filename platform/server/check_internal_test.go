package server

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/platform/errs"
)

func TestRequestCheck(t *testing.T) {
	t.Parallel()
	const method = "/meterplane.metering.v1.MeteringService/IngestBatch"
	c := newChecker([]Service{
		{GRPCName: "meterplane.metering.v1.MeteringService", ItemFields: []string{"meterplane.metering.v1.IngestBatchRequest.events"}},
	})
	many := make([]string, 0, 20)
	for range 20 {
		many = append(many, "a\x00")
	}
	ok := &meteringv1.UsageEvent{Subject: "fine", Time: timestamppb.Now(), Properties: map[string]string{"region": "eu"}}
	for _, tc := range []struct {
		name   string
		method string
		req    proto.Message
		want   []string // the fields refused, in order
	}{
		{name: "a fine request passes", method: method, req: &meteringv1.IngestRequest{Event: ok}},
		{name: "a NUL in a nested string is refused with its path", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Subject: "a\x00b"}}, want: []string{"event.subject"}},
		{name: "invalid UTF-8 in a map value is refused with its key", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Properties: map[string]string{"region": "\xff"}}}, want: []string{`event.properties["region"]`}},
		{name: "a NUL in a map key is refused", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Properties: map[string]string{"re\x00gion": "eu"}}}, want: []string{"event.properties"}},
		{name: "a timestamp of year 1 is refused", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Time: &timestamppb.Timestamp{Seconds: -62135596800}}}, want: []string{"event.time"}},
		{name: "a timestamp with out of range nanos is refused", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Time: &timestamppb.Timestamp{Seconds: 1e9, Nanos: 1e9}}}, want: []string{"event.time"}},
		{name: "a timestamp of year 9999 is refused", method: method,
			req: &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{Time: &timestamppb.Timestamp{Seconds: 253402300799}}}, want: []string{"event.time"}},
		{name: "the item fields of the method's service are skipped", method: method,
			req: &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{{Subject: "a\x00"}}}},
		{name: "the item fields of another service are checked", method: "/meterplane.catalog.v1.CatalogService/X",
			req: &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{ok, {Subject: "a\x00"}}}, want: []string{"events[1].subject"}},
		{name: "at most ten violations are reported", method: "/meterplane.catalog.v1.CatalogService/X",
			req:  &meteringv1.IngestBatchRequest{Events: eventsWithSubjects(many)},
			want: []string{"events[0].subject", "events[1].subject", "events[2].subject", "events[3].subject", "events[4].subject", "events[5].subject", "events[6].subject", "events[7].subject", "events[8].subject", "events[9].subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := c.check(tc.method, tc.req)
			var got []string
			var de *errs.Error
			if err != nil {
				if !errs.Is(err, errs.Invalid) || !asErr(err, &de) {
					t.Fatalf("err = %v, want Invalid", err)
				}
				for _, v := range de.Violations {
					got = append(got, v.Field)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("refused fields = %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func eventsWithSubjects(subjects []string) []*meteringv1.UsageEvent {
	var out []*meteringv1.UsageEvent
	for _, s := range subjects {
		out = append(out, &meteringv1.UsageEvent{Subject: s})
	}
	return out
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	*target = e
	return ok
}
