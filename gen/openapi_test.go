package gen_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meterplane/meterplane/gen"
)

// TestOpenAPI checks the merged document of all five services: valid
// JSON, Swagger 2.0, every service's tag and operations, the Bearer
// scheme, and every $ref resolving to a definition.
func TestOpenAPI(t *testing.T) {
	data, err := gen.OpenAPI(gen.Services...)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Swagger     string                               `json:"swagger"`
		Tags        []struct{ Name string }              `json:"tags"`
		Paths       map[string]map[string]map[string]any `json:"paths"`
		Definitions map[string]any                       `json:"definitions"`
		Security    []map[string][]string                `json:"security"`
		SecDefs     map[string]map[string]string         `json:"securityDefinitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.Swagger != "2.0" {
		t.Errorf("swagger = %q", doc.Swagger)
	}
	ops := map[string]bool{}
	for _, item := range doc.Paths {
		for _, op := range item {
			ops[op["operationId"].(string)] = true
		}
	}
	for _, want := range []string{"CatalogService_ListPlans", "SubscriptionService_CreateCustomer", "MeteringService_IngestBatch",
		"MeteringService_UploadUsageReport", "QuotaService_CheckQuota", "InvoiceService_GetInvoice"} {
		if !ops[want] {
			t.Errorf("operation %s missing", want)
		}
	}
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	if got := strings.Join(tags, ","); got != "CatalogService,SubscriptionService,MeteringService,QuotaService,InvoiceService" {
		t.Errorf("tags = %s", got)
	}
	if s := doc.SecDefs["Bearer"]; s["type"] != "apiKey" || s["in"] != "header" || s["name"] != "Authorization" {
		t.Errorf("securityDefinitions = %v", doc.SecDefs)
	}
	if len(doc.Security) != 1 || doc.Security[0]["Bearer"] == nil {
		t.Errorf("security = %v", doc.Security)
	}
	// Catalog's and subscription's Entitlement differ: both are kept.
	if doc.Definitions["v1Entitlement"] == nil || doc.Definitions["subscription.v1Entitlement"] == nil {
		t.Error("catalog's or subscription's v1Entitlement missing")
	}
	var refs []string
	collectRefs(&refs, doc.Paths)
	collectRefs(&refs, doc.Definitions)
	for _, ref := range refs {
		if doc.Definitions[strings.TrimPrefix(ref, "#/definitions/")] == nil {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}
	if len(refs) < 100 {
		t.Errorf("only %d $refs", len(refs))
	}
}

// TestOpenAPIOneService checks a standalone service's document: its own
// paths only.
func TestOpenAPIOneService(t *testing.T) {
	data, err := gen.OpenAPI("quota")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Paths["/v1/customers/{customerId}/quota:check"] == nil || doc.Paths["/v1/plans"] != nil {
		t.Errorf("quota's document has paths %v", doc.Paths)
	}
}

func collectRefs(refs *[]string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if s, ok := item.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
			}
			collectRefs(refs, item)
		}
	case map[string]map[string]map[string]any:
		for _, item := range v {
			for _, op := range item {
				collectRefs(refs, op)
			}
		}
	case []any:
		for _, item := range v {
			collectRefs(refs, item)
		}
	}
}
