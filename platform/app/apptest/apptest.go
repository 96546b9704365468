// Package apptest builds and runs Meterplane binaries in end-to-end tests:
// on free loopback ports, with the embedded defaults in a temporary data
// directory, stopped with SIGTERM and required to exit cleanly.
package apptest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/meterplane/meterplane/platform/auth"
)

// Build builds the main package in pkgDir into dir and returns the
// binary's path.
func Build(dir, pkgDir string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(filepath.Clean(pkgDir)))
	if pkgDir == "." {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		bin = filepath.Join(dir, filepath.Base(wd))
	}
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = pkgDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkgDir, err, out)
	}
	return bin, nil
}

// Proc is a running binary.
type Proc struct {
	GRPCAddr, HTTPAddr string
	cmd                *exec.Cmd
	exited             chan error
	log                *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// handedOut holds the addresses freePort returned in this test process.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freePort returns a loopback address free now and never returned before
// in this test process: the kernel may offer a port just closed again, and
// a binary given the same port for gRPC and HTTP fails to start.
func freePort(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
}

// The keys of the binaries that Start starts: every binary shares the
// service credential, and the one that hosts the subscription service
// stores the admin key. Tests send the service credential on every call
// (see Credential and the HTTP transport Start installs), which may make
// every call but the management of keys; tests of keys and roles send
// their own.
const (
	ServiceKey = "mp_service_apptestservicecredential0000000000000000"
	AdminKey   = "mp_apptest-admin_apptestadminkey000000000000000000000"
)

// Credential sends the service credential with every gRPC call of a
// client connection to a binary that Start started.
func Credential() grpc.DialOption {
	return grpc.WithPerRPCCredentials(auth.Credential{Token: ServiceKey})
}

// keyTransport adds the service credential to every HTTP request that
// carries no Authorization header of its own.
type keyTransport struct{ base http.RoundTripper }

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" && r.Header.Get("X-No-Key") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+ServiceKey)
	}
	r.Header.Del("X-No-Key")
	return k.base.RoundTrip(r)
}

var installTransport sync.Once

// Start runs bin with env and args on free ports, with embedded SQLite in
// its own data directory and the in-process Redis unless env says
// otherwise, and waits until /readyz answers (and, with --demo, until the
// seed is done).
func Start(t *testing.T, bin string, env []string, args ...string) *Proc {
	t.Helper()
	// The test's HTTP calls (http.Get, http.Post, http.DefaultClient)
	// carry the service credential unless they send a key of their own,
	// or the header X-No-Key to send none.
	installTransport.Do(func() { http.DefaultTransport = keyTransport{base: http.DefaultTransport} })
	p := &Proc{GRPCAddr: freePort(t), HTTPAddr: freePort(t), exited: make(chan error, 1), log: &syncBuffer{}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "MP_GRPC_ADDR="+p.GRPCAddr, "MP_HTTP_ADDR="+p.HTTPAddr, "MP_DATA_DIR="+t.TempDir(),
		"DATABASE_URL=", "REDIS_URL=", "MP_SERVICE_KEY="+ServiceKey, "MP_ADMIN_KEY="+AdminKey)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() }) // in case the test stops before Stop
	demo := false
	for _, a := range args {
		demo = demo || a == "--demo"
	}
	readyz := "http://" + p.HTTPAddr + "/readyz"
	client := http.DefaultClient
	for _, e := range env {
		if strings.HasPrefix(e, "MP_TLS_CERT=") && e != "MP_TLS_CERT=" {
			// Readiness only: the tests check the certificate themselves.
			readyz = "https://" + p.HTTPAddr + "/readyz"
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := client.Get(readyz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && (!demo || strings.Contains(p.log.String(), "demo data seeded")) {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("%s exited early: %v; log:\n%s", bin, err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60s; log:\n%s", bin, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and requires a clean exit within 20 seconds.
func (p *Proc) Stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM; log:\n%s", p.cmd.Path, err, p.log)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20s of SIGTERM; log:\n%s", p.cmd.Path, p.log)
	}
}

// Kill sends SIGKILL, as a crash or an out-of-memory kill would, and
// waits for the process to end.
func (p *Proc) Kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not end within 20s of SIGKILL", p.cmd.Path)
	}
}

// Log returns what the binary has written to its standard output and
// error so far.
func (p *Proc) Log() string { return p.log.String() }
