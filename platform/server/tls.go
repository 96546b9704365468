package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meterplane/meterplane/platform/config"
)

// serverTLS is the TLS configuration of the listeners when a certificate
// is configured, else nil.
func serverTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"}}, nil
}

// selfCreds are the transport credentials of the server's connections to
// its own listener: with TLS, they accept exactly the server's own
// certificate, whatever name it is reached by.
func selfCreds(own *tls.Config) grpc.DialOption {
	if own == nil {
		return grpc.WithTransportCredentials(insecure.NewCredentials())
	}
	leaf := own.Certificates[0].Certificate[0]
	return grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		MinVersion: tls.VersionTLS12,
		// The certificate is checked below, against the server's own.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], leaf) {
				return errors.New("the server's own listener presented another certificate")
			}
			return nil
		},
	}))
}

// PeerCreds are the transport credentials of the connections to other
// services: TLS when this service serves TLS or trusts a CA (MP_TLS_CA,
// else the system's roots), plaintext otherwise.
func PeerCreds(cfg config.Config) (grpc.DialOption, bool, error) {
	if cfg.TLSCert == "" && cfg.TLSCA == "" {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), false, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return nil, false, fmt.Errorf("TLS CA: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, false, fmt.Errorf("TLS CA %s: no PEM certificate in it", cfg.TLSCA)
		}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(c)), true, nil
}

// serveHTTP serves srv on lis, over TLS if srv has a TLS configuration.
func serveHTTP(srv *http.Server, lis net.Listener) error {
	if srv.TLSConfig != nil {
		return srv.ServeTLS(lis, "", "")
	}
	return srv.Serve(lis)
}
