package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a headless-capable Chromium: skipped when
// missing, except in CI (CI=true), where the test fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI requires it")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// headless runs Chromium headless on url with extra arguments, in a fresh
// profile, with every host but the loopback address unresolvable (so that
// the page must work offline), and returns its standard output.
func headless(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestDocsPage opens /docs of the real binary in headless Chromium: the
// page must render the OpenAPI document with the embedded Redoc, offline,
// listing every service and operations of each, and its screenshot must
// be a readable page.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	r := start(t, nil)
	url := "http://" + r.HTTPAddr + "/docs"

	// The operations each service's section must list, from the document.
	resp, err := http.Get("http://" + r.HTTPAddr + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string][]string{}
	for _, item := range doc.Paths {
		for _, op := range item {
			ops[op.Tags[0]] = append(ops[op.Tags[0]], op.OperationID)
		}
	}

	dom := string(headless(t, bin, url, "--dump-dom"))
	if !strings.Contains(dom, "Meterplane API") {
		t.Fatalf("the page has no title; DOM:\n%.2000s", dom)
	}
	for _, tag := range []string{"CatalogService", "SubscriptionService", "MeteringService", "QuotaService", "InvoiceService"} {
		if !strings.Contains(dom, `data-item-id="tag/`+tag+`"`) {
			t.Errorf("the page has no section of %s", tag)
		}
		if len(ops[tag]) < 5 {
			t.Errorf("%s has %d operations in /openapi.json", tag, len(ops[tag]))
		}
		missing := 0
		for _, op := range ops[tag] {
			if !strings.Contains(dom, "operation/"+op+`"`) {
				missing++
				t.Errorf("the page does not list %s", op)
			}
		}
		t.Logf("%s: %d operations rendered", tag, len(ops[tag])-missing)
	}

	// A screenshot: a page of text, not a blank or an error. It is kept
	// at $DOCS_SCREENSHOT when set.
	shot := filepath.Join(t.TempDir(), "docs.png")
	if p := os.Getenv("DOCS_SCREENSHOT"); p != "" {
		shot = p
	}
	headless(t, bin, url, "--screenshot="+shot, "--window-size=1280,2000")
	t.Logf("screenshot of /docs: %s", shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot is %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}
	colors := map[uint32]int{}
	dark, middle := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8]++
			// Dark pixels of the text in the middle panel, which is white
			// (the sidebar is light, the samples' panel dark).
			if x >= 300 && x < 840 {
				middle++
				if (299*r+587*g+114*bl)/1000>>8 < 100 {
					dark++
				}
			}
		}
	}
	most := 0
	for _, n := range colors {
		most = max(most, n)
	}
	share := float64(dark) / float64(middle)
	t.Logf("screenshot: %d colours, the commonest on %.0f%% of pixels, %.1f%% of the text panel dark", len(colors),
		100*float64(most)/float64(b.Dx()*b.Dy()), 100*share)
	if len(colors) < 100 || float64(most) > 0.9*float64(b.Dx()*b.Dy()) || share < 0.01 {
		t.Errorf("the screenshot does not look like a page of text: %s", fmt.Sprintf("%d colours, commonest on %d pixels, %.2f%% dark", len(colors), most, 100*share))
	}
}
