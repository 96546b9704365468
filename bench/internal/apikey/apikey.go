// Package apikey sends the benchmarks' API key with their calls.
package apikey

import (
	"context"
	"os"

	"google.golang.org/grpc"
)

// DialOption sends the API key of MP_API_KEY, if set, with every call of
// a client connection.
func DialOption() grpc.DialOption {
	key := os.Getenv("MP_API_KEY")
	if key == "" {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithPerRPCCredentials(bearer(key))
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
