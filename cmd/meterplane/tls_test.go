package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "meterplane test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With a certificate, gRPC and HTTP are served over TLS only, the demo
// seeds through the binary's own TLS listener, and a service in another
// process verifies keys through it over TLS, trusting MP_TLS_CA.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	tlsEnv := []string{"MP_TLS_CERT=" + certFile, "MP_TLS_KEY=" + keyFile}
	p := apptest.Start(t, binary, tlsEnv, "--demo")
	t.Cleanup(func() { p.Stop(t) })

	creds := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool}))
	conn, err := grpc.NewClient(p.GRPCAddr, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	admin := as(context.Background(), apptest.AdminKey)
	if _, err := catalogv1.NewCatalogServiceClient(conn).GetPlan(admin, &catalogv1.GetPlanRequest{PlanId: "hosting_50"}); err != nil {
		t.Fatalf("GetPlan over TLS: %v", err)
	}
	plain, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(admin, 3*time.Second)
	defer cancel()
	if _, err := catalogv1.NewCatalogServiceClient(plain).GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: "hosting_50"}); err == nil {
		t.Error("a plaintext gRPC call succeeded on a TLS listener")
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+p.HTTPAddr+"/v1/plans/hosting_50", nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminKey)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET over HTTPS: %d", resp.StatusCode)
	}

	// A standalone catalog, itself on TLS, verifying keys over TLS.
	catalogBin, err := apptest.Build(dir, filepath.Join("..", "..", "services", "catalog", "cmd", "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	split := apptest.Start(t, catalogBin, append(tlsEnv, "MP_TLS_CA="+certFile, "MP_SUBSCRIPTION_ADDR="+p.GRPCAddr))
	t.Cleanup(func() { split.Stop(t) })
	sconn, err := grpc.NewClient(split.GRPCAddr, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close()
	if _, err := catalogv1.NewCatalogServiceClient(sconn).ListPlans(admin, &catalogv1.ListPlansRequest{}); err != nil {
		t.Fatalf("the admin key on a service that verifies it over TLS: %v", err)
	}
}
