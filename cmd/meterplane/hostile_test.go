package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// swagger is the part of an OpenAPI v2 document the hostile test reads.
type swagger struct {
	Paths       map[string]map[string]operation `json:"paths"`
	Definitions map[string]*schema              `json:"definitions"`
}

type operation struct {
	Parameters []struct {
		Name   string  `json:"name"`
		In     string  `json:"in"`
		Type   string  `json:"type"`
		Format string  `json:"format"`
		Schema *schema `json:"schema"`
	} `json:"parameters"`
}

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Enum                 []string           `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"` // a schema or a bool
}

// mapValue returns the schema of the values of a map, or nil if s is not
// a map.
func (s *schema) mapValue() *schema {
	var v schema
	if len(s.AdditionalProperties) == 0 || json.Unmarshal(s.AdditionalProperties, &v) != nil {
		return nil
	}
	return &v
}

// hostileRequest is one request the test sends.
type hostileRequest struct {
	name, method, path, body string
}

// hostile values of a string, by the string's format.
var (
	badStrings    = []string{`"a\u0000b"`, "\"\xff\xfe\"", `"` + strings.Repeat("x", 100_000) + `"`}
	badInt64s     = []string{`"99999999999999999999"`, `"-1e400"`, `"2147483648"`}
	badInts       = []string{`99999999999999999999`, `-1e400`, `2147483648`, `1.5`}
	badTimestamps = []string{`"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59Z"`, `"2026-01-01T00:00:00.1234567891Z"`, `"2026-13-45T25:61:61Z"`}
	badDecimals   = []string{`"99999999999999999999999999999999999999.5"`, `"-1e400"`, `"1e400"`, `"NaN"`}
	badPathValues = []string{"a%00b", "%FF%FE", strings.Repeat("x", 10_000)}
	badQuery      = map[string][]string{
		"string":    {"a%00b", "%FF%FE", "%G0"},
		"integer":   {"99999999999999999999", "-1e400", "2147483648"},
		"date-time": {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T00:00:00.1234567891Z"},
		"boolean":   {"maybe"},
	}
)

// hostileRequests lists, for every route of the OpenAPI documents, requests
// with one hostile value each: in a path parameter, a query parameter, or
// a field of the JSON body (nested fields, list items and map entries
// included), plus malformed bodies.
func hostileRequests(t *testing.T) []hostileRequest {
	t.Helper()
	files, err := filepath.Glob("../../gen/openapi/*.swagger.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no OpenAPI documents: %v", err)
	}
	var out []hostileRequest
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc swagger
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for path, ops := range doc.Paths {
			for method, op := range ops {
				method = strings.ToUpper(method)
				var pathParams []string
				var body *schema
				for _, p := range op.Parameters {
					switch p.In {
					case "path":
						pathParams = append(pathParams, p.Name)
					case "body":
						body = p.Schema
					}
				}
				fill := func(bad string, name string) string {
					u := path
					for _, p := range pathParams {
						v := "x"
						if p == name {
							v = bad
						}
						u = strings.Replace(u, "{"+p+"}", v, 1)
					}
					return u
				}
				route := method + " " + path
				for _, p := range pathParams {
					for _, v := range badPathValues {
						out = append(out, hostileRequest{name: fmt.Sprintf("%s: path %s=%.20s", route, p, v), method: method, path: fill(v, p), body: bodyOrEmpty(body)})
					}
				}
				for _, p := range op.Parameters {
					if p.In != "query" {
						continue
					}
					kind := p.Type
					if p.Format == "date-time" {
						kind = "date-time"
					}
					for _, v := range badQuery[kind] {
						out = append(out, hostileRequest{name: fmt.Sprintf("%s: query %s=%s", route, p.Name, v), method: method, path: fill("", "") + "?" + p.Name + "=" + v})
					}
				}
				if body == nil {
					continue
				}
				for _, b := range []string{`{"a":`, `[]`, `"x"`, `{} x`, `{}{}`, `{"unknownField":1}`, "\xff"} {
					out = append(out, hostileRequest{name: fmt.Sprintf("%s: body %q", route, b), method: method, path: fill("", ""), body: b})
				}
				for field, values := range bodyFields(doc.Definitions, body, 0) {
					for _, v := range values {
						out = append(out, hostileRequest{name: fmt.Sprintf("%s: body %s=%.30s", route, field, v), method: method, path: fill("", ""), body: setField(field, v)})
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func bodyOrEmpty(s *schema) string {
	if s == nil {
		return ""
	}
	return "{}"
}

// bodyFields returns the hostile values of every field reachable in s, by
// field path: "a.b" for a nested field, "a[]" for a list item, "a{}" for a
// map value and "a{key}" for a map key.
func bodyFields(defs map[string]*schema, s *schema, depth int) map[string][]string {
	s = resolve(defs, s)
	out := map[string][]string{}
	if depth > 4 {
		return out
	}
	for name, p := range s.Properties {
		p = resolve(defs, p)
		switch {
		case p.Type == "object" && p.mapValue() != nil:
			out[name+"{key}"] = badStrings[:2]
			for sub, vs := range leafValues(defs, p.mapValue(), depth) {
				out[name+"{}"+sub] = vs
			}
		case p.Type == "array":
			for sub, vs := range leafValues(defs, p.Items, depth) {
				out[name+"[]"+sub] = vs
			}
		default:
			for sub, vs := range leafValues(defs, p, depth) {
				out[name+sub] = vs
			}
		}
	}
	return out
}

// leafValues returns the hostile values of a value of schema s, by the
// path below it ("" for s itself).
func leafValues(defs map[string]*schema, s *schema, depth int) map[string][]string {
	s = resolve(defs, s)
	switch {
	case s.Type == "object" || len(s.Properties) > 0:
		out := map[string][]string{}
		for sub, vs := range bodyFields(defs, s, depth+1) {
			out["."+sub] = vs
		}
		return out
	case len(s.Enum) > 0:
		return map[string][]string{"": {`"NOT_A_VALUE"`, `2147483647`}}
	case s.Format == "date-time":
		return map[string][]string{"": badTimestamps}
	case s.Format == "int64" || s.Format == "uint64":
		return map[string][]string{"": badInt64s}
	case s.Type == "integer" || s.Type == "number":
		return map[string][]string{"": badInts}
	case s.Type == "string":
		return map[string][]string{"": slices.Concat(badStrings, badDecimals)}
	}
	return nil
}

func resolve(defs map[string]*schema, s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = defs[strings.TrimPrefix(s.Ref, "#/definitions/")]
	}
	if s == nil {
		return &schema{}
	}
	return s
}

// setField renders a JSON body with only the field at path set to value.
func setField(path, value string) string {
	if path == "" {
		return value
	}
	i := strings.IndexAny(path, ".[{")
	if i < 0 {
		return fmt.Sprintf(`{%q:%s}`, path, value)
	}
	name, rest := path[:i], path[i:]
	switch {
	case strings.HasPrefix(rest, "[]"):
		return fmt.Sprintf(`{%q:[%s]}`, name, setField(strings.TrimPrefix(rest[2:], "."), value))
	case strings.HasPrefix(rest, "{key}"):
		return fmt.Sprintf(`{%q:{%s:"v"}}`, name, value)
	case strings.HasPrefix(rest, "{}"):
		return fmt.Sprintf(`{%q:{"k":%s}}`, name, setField(strings.TrimPrefix(rest[2:], "."), value))
	default:
		return fmt.Sprintf(`{%q:%s}`, name, setField(rest[1:], value))
	}
}

// TestHostileEdge sends every route hostile values and requires that none
// is answered with a server error and that the server still serves after.
func TestHostileEdge(t *testing.T) {
	t.Parallel()
	r := start(t, nil)
	reqs := hostileRequests(t)
	if len(reqs) < 100 {
		t.Fatalf("only %d hostile requests; the OpenAPI documents were not read", len(reqs))
	}
	client := &http.Client{Timeout: 30 * time.Second}
	work := make(chan hostileRequest)
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for hr := range work {
				code, body, err := send(client, r.HTTPAddr, hr)
				if err != nil || code >= 500 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %d %.200s %v", hr.name, code, body, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, hr := range reqs {
		work <- hr
	}
	close(work)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d hostile requests sent", len(reqs))

	t.Run("an oversize body is refused with 413", func(t *testing.T) {
		for _, chunked := range []bool{false, true} {
			if code := sendOversize(t, r.HTTPAddr, chunked); code != http.StatusRequestEntityTooLarge {
				t.Errorf("oversize body (chunked %v) = %d, want 413", chunked, code)
			}
		}
	})

	resp, err := http.Get("http://" + r.HTTPAddr + "/readyz")
	if err != nil {
		t.Fatalf("after the hostile requests: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the hostile requests /readyz = %d", resp.StatusCode)
	}
}

func send(client *http.Client, addr string, hr hostileRequest) (int, string, error) {
	req, err := http.NewRequest(hr.method, "http://"+addr+hr.path, strings.NewReader(hr.body))
	if err != nil {
		// A URL Go refuses to send (such as a bad escape) is sent raw.
		req, err = http.NewRequest(hr.method, "http://"+addr+"/", strings.NewReader(hr.body))
		if err != nil {
			return 0, "", err
		}
		req.URL.Opaque = "//" + addr + hr.path
		if i := strings.IndexByte(hr.path, '?'); i >= 0 {
			req.URL.Opaque, req.URL.RawQuery = "//"+addr+hr.path[:i], hr.path[i+1:]
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// sendOversize posts a body of 200 MB, declared or chunked, and returns
// the status the server answers.
func sendOversize(t *testing.T, addr string, chunked bool) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const total = 200 << 20
	go func() {
		if chunked {
			fmt.Fprintf(conn, "POST /v1/features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
		} else {
			fmt.Fprintf(conn, "POST /v1/features HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", total)
		}
		chunk := []byte(strings.Repeat("x", 64<<10))
		if chunked {
			chunk = []byte(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk))
		}
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("oversize body: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHelp(t *testing.T) {
	t.Parallel()
	out, err := exec.CommandContext(t.Context(), binary, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("meterplane --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-max-request-bytes") || strings.Contains(string(out), "help requested") {
		t.Fatalf("meterplane --help printed:\n%s", out)
	}
}
