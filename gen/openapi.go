package gen

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// The OpenAPI (Swagger 2.0) documents protoc-gen-openapiv2 generates, one
// per service (openapi/<service>.swagger.json), and the routes services
// register by hand beside the generated ones (openapi.extra.json: service
// name to paths), such as metering's upload of a usage report.
//
//go:embed openapi/*.swagger.json openapi.extra.json
var openapiFiles embed.FS

// Services are the short names of the services with an HTTP API, in the
// order the merged OpenAPI document lists them.
var Services = []string{"catalog", "subscription", "metering", "quota", "invoice"}

// OpenAPI returns one OpenAPI (Swagger 2.0) document of the HTTP APIs of
// the named services (short names, such as "catalog"): their paths, tags
// and definitions merged, with the Bearer API key as the security scheme
// of every operation. A definition that two services name alike but
// define differently (catalog's and subscription's v1Entitlement) is
// renamed in the later service to "<service>.<name>".
func OpenAPI(services ...string) ([]byte, error) {
	var extra map[string]map[string]any
	if err := readJSON("openapi.extra.json", &extra); err != nil {
		return nil, err
	}
	paths, defs := map[string]any{}, map[string]any{}
	var tags []any
	for _, svc := range services {
		var doc struct {
			Tags        []any          `json:"tags"`
			Paths       map[string]any `json:"paths"`
			Definitions map[string]any `json:"definitions"`
		}
		if err := readJSON("openapi/"+svc+".swagger.json", &doc); err != nil {
			return nil, err
		}
		maps.Copy(doc.Paths, extra[svc])
		// Rename the definitions that differ from those of the services
		// before, then those that refer to a renamed one, and so on.
		renames := map[string]string{}
		for changed := true; changed; {
			changed = false
			for _, name := range slices.Sorted(maps.Keys(doc.Definitions)) {
				if have, ok := defs[name]; ok && renames[name] == "" && !reflect.DeepEqual(have, doc.Definitions[name]) {
					renames[name] = svc + "." + name
					changed = true
				}
			}
			renameRefs(doc.Definitions, renames)
		}
		renameRefs(doc.Paths, renames)
		for name, def := range doc.Definitions {
			if r := renames[name]; r != "" {
				name = r
			}
			defs[name] = def
		}
		for path, item := range doc.Paths {
			if _, ok := paths[path]; ok {
				return nil, fmt.Errorf("openapi: path %s of %s is served by another service too", path, svc)
			}
			paths[path] = item
		}
		tags = append(tags, doc.Tags...)
	}
	var names []string
	for _, t := range tags {
		names = append(names, t.(map[string]any)["name"].(string))
	}
	return json.MarshalIndent(map[string]any{
		"swagger": "2.0",
		"info": map[string]any{
			"title": "Meterplane API",
			"description": "The HTTP/JSON API of " + strings.Join(names, ", ") + ". Every call but /healthz, /readyz, /metrics, " +
				"/openapi.json and /docs needs an API key: `Authorization: Bearer mp_...`. An error is a JSON google.rpc.Status " +
				"(code, message, details such as a BadRequest's field violations) with the HTTP status of its gRPC code.",
			"version": "v1",
		},
		"tags":        tags,
		"consumes":    []string{"application/json"},
		"produces":    []string{"application/json"},
		"paths":       paths,
		"definitions": defs,
		"securityDefinitions": map[string]any{
			"Bearer": map[string]any{
				"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "An API key, sent as `Authorization: Bearer mp_...`.",
			},
		},
		"security": []any{map[string]any{"Bearer": []any{}}},
	}, "", "  ")
}

// readJSON decodes the embedded file name into v.
func readJSON(name string, v any) error {
	data, err := openapiFiles.ReadFile(name)
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("openapi: %s: %w", name, err)
	}
	return nil
}

// renameRefs rewrites, in the decoded JSON v, every "$ref" to a
// definition that renames renames.
func renameRefs(v any, renames map[string]string) {
	const prefix = "#/definitions/"
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			if ref, ok := item.(string); ok && k == "$ref" && strings.HasPrefix(ref, prefix) {
				if r := renames[strings.TrimPrefix(ref, prefix)]; r != "" {
					v[k] = prefix + r
				}
				continue
			}
			renameRefs(item, renames)
		}
	case []any:
		for _, item := range v {
			renameRefs(item, renames)
		}
	}
}
