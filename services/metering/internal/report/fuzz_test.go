package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/meterplane/meterplane/services/metering/internal/report"
)

func FuzzDecodeJSON(f *testing.F) {
	fuzzDecode(f, report.JSON, []string{"report.json", "customer-report.json"}, []string{
		minimalJSON,
		edit(minimalJSON, `"idempotencyKey": "k1"`, `"idempotencyKey": "k1", "subject": "s", "delta": true, "properties": {"k": "v\u0000"}`),
		edit(minimalJSON, `"quantity": "1"`, `"quantity": "1e3"`),
		edit(minimalJSON, `"2026-04-01T10:00:00Z"`, `"2026-04-01T12:00:00.000+02:00"`),
		edit(minimalJSON, `"version": "1",`, `"version": "1", "version": null,`),
		minimalJSON + "x",
		`{"events": [[[{}]]]}`,
	})
}

func FuzzDecodeXML(f *testing.F) {
	fuzzDecode(f, report.XML, []string{"report.xml", "customer-report.xml"}, []string{
		minimalXML,
		edit(minimalXML, `idempotencyKey="k1"/>`, `idempotencyKey="k1" delta="true"><property key="k"><![CDATA[<v>]]>&#xD;</property></event>`),
		edit(minimalXML, `quantity="1"`, `quantity="1e3"`),
		edit(minimalXML, "\n<usageReport", "\n<!DOCTYPE usageReport [<!ENTITY x \"1\">]>\n<usageReport"),
		edit(minimalXML, `version="1"`, `version="1" xmlns="urn:x"`),
		edit(minimalXML, "</usageReport>", "<extra/></usageReport>"),
		minimalXML + "<!-- end -->",
	})
}

// fuzzDecode checks that Decode never panics and that what it accepts
// encodes to a fixed point of Decode then Encode, also through the other
// format.
func fuzzDecode(f *testing.F, format report.Format, goldens, docs []string) {
	for _, name := range goldens {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, doc := range docs {
		f.Add([]byte(doc))
	}
	other := report.XML
	if format == report.XML {
		other = report.JSON
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := report.Decode(data, format)
		if err != nil {
			return
		}
		first := encode(t, r, format)
		r2 := decode(t, first, format)
		if second := encode(t, r2, format); !bytes.Equal(second, first) {
			t.Fatalf("Encode(Decode(Encode(r))) gave\n%s\nwant\n%s", second, first)
		}
		if r3 := decode(t, encode(t, r2, other), other); !reflect.DeepEqual(r3, r2) {
			t.Fatalf("converting to format %d and back gave\n%+v\nwant\n%+v", other, r3, r2)
		}
	})
}
