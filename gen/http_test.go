package gen_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/meterplane/meterplane/gen"
)

// httpExceptions are the RPCs deliberately without an HTTP rule in their
// service's .http.yaml, each with the reason.
var httpExceptions = map[protoreflect.FullName]string{
	// Bidirectional streaming has no HTTP/JSON form; HTTP clients send
	// batches to POST /v1/events:batch.
	"meterplane.metering.v1.MeteringService.IngestStream": "gRPC only",
	// Client streaming: served by the upload path POST
	// /v1/usageReports:upload, which the service registers by hand.
	"meterplane.metering.v1.MeteringService.ImportUsageReportStream": "upload path",
}

// TestEveryRPCOverHTTP fails when an RPC of a service has no HTTP rule in
// proto/meterplane/<service>/v1/<service>.http.yaml and is not an
// exception, or when a rule names an RPC that does not exist.
func TestEveryRPCOverHTTP(t *testing.T) {
	files, err := gen.Files()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, svc := range gen.Services {
		fd, err := files.FindFileByPath("meterplane/" + svc + "/v1/" + svc + ".proto")
		if err != nil {
			t.Fatal(err)
		}
		rules := selectors(t, filepath.Join("..", "proto", "meterplane", svc, "v1", svc+".http.yaml"))
		methods := map[protoreflect.FullName]bool{}
		for i := range fd.Services().Len() {
			ms := fd.Services().Get(i).Methods()
			for j := range ms.Len() {
				m := ms.Get(j).FullName()
				methods[m] = true
				seen++
				_, exception := httpExceptions[m]
				switch {
				case rules[m] && exception:
					t.Errorf("%s has an HTTP rule and is listed as an exception", m)
				case !rules[m] && !exception:
					t.Errorf("%s has no HTTP rule in %s.http.yaml", m, svc)
				}
			}
		}
		for m := range rules {
			if !methods[m] {
				t.Errorf("%s.http.yaml has a rule for %s, which is no RPC", svc, m)
			}
		}
	}
	if seen < 80 {
		t.Errorf("only %d RPCs found", seen)
	}
}

// selectors returns the RPCs that the rules of an .http.yaml name.
func selectors(t *testing.T, path string) map[protoreflect.FullName]bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[protoreflect.FullName]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "- selector:"); ok {
			out[protoreflect.FullName(strings.TrimSpace(s))] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return out
}
