package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHTTPSettings checks the gateway's peers, CORS origins and request
// timeout.
func TestHTTPSettings(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPRequestTimeout != 60*time.Second || c.CORSOrigins != nil || c.QuotaAddr != "" || c.InvoiceAddr != "" {
		t.Errorf("defaults: timeout %v, CORS %v, quota %q, invoice %q", c.HTTPRequestTimeout, c.CORSOrigins, c.QuotaAddr, c.InvoiceAddr)
	}

	c, err = Load([]string{"--invoice-addr", "invoice:9090"}, env(map[string]string{
		"MP_QUOTA_ADDR": "quota:9090", "MP_CORS_ORIGINS": " https://app.example.com, http://localhost:3000 ,", "MP_HTTP_REQUEST_TIMEOUT": "5s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.QuotaAddr != "quota:9090" || c.InvoiceAddr != "invoice:9090" || c.HTTPRequestTimeout != 5*time.Second ||
		!slices.Equal(c.CORSOrigins, []string{"https://app.example.com", "http://localhost:3000"}) {
		t.Errorf("settings = quota %q, invoice %q, timeout %v, CORS %q", c.QuotaAddr, c.InvoiceAddr, c.HTTPRequestTimeout, c.CORSOrigins)
	}
	if c, err := Load(nil, env(map[string]string{"MP_CORS_ORIGINS": "*"})); err != nil || !slices.Equal(c.CORSOrigins, []string{"*"}) {
		t.Errorf("MP_CORS_ORIGINS=*: %q, %v", c.CORSOrigins, err)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"MP_QUOTA_ADDR": "quota"}, "quota address"},
		{map[string]string{"MP_INVOICE_ADDR": "invoice"}, "invoice address"},
		{map[string]string{"MP_CORS_ORIGINS": "app.example.com"}, "CORS origin"},
		{map[string]string{"MP_CORS_ORIGINS": "https://app.example.com/"}, "CORS origin"},
		{map[string]string{"MP_HTTP_REQUEST_TIMEOUT": "60"}, "HTTP request timeout"},
		{map[string]string{"MP_HTTP_REQUEST_TIMEOUT": "10ms"}, "HTTP request timeout"},
	} {
		if _, err := Load(nil, env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error = %v, want one mentioning %q", tc.env, err, tc.want)
		}
	}
}
