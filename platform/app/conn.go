package app

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// selfConn is a client connection to the binary's own server, which does
// not exist yet when the services are opened: it answers Unavailable until
// the server is set.
type selfConn struct {
	conn atomic.Pointer[grpc.ClientConn]
}

var errNotServing = status.Error(codes.Unavailable, "server not started")

// Invoke performs a unary RPC.
func (c *selfConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc := c.conn.Load()
	if cc == nil {
		return errNotServing
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

// NewStream begins a streaming RPC.
func (c *selfConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc := c.conn.Load()
	if cc == nil {
		return nil, errNotServing
	}
	return cc.NewStream(ctx, desc, method, opts...)
}
