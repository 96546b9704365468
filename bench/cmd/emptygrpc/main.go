// Command emptygrpc is the reference of the quota benchmark: a bare
// grpc-go server with the standard health service and nothing else (no
// interceptors, no telemetry), so that a health Check on it is the
// cheapest unary call this machine can serve.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9190", "gRPC listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "emptygrpc:", err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "emptygrpc:", err)
		os.Exit(1)
	}
}
