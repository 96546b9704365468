package app

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SelfConn is a client connection to the binary's own server, which does
// not exist yet when the services are opened: it answers Unavailable until
// Set gives it the server's connection.
type SelfConn struct {
	conn atomic.Pointer[grpc.ClientConn]
}

// Set points c at the server's connection.
func (c *SelfConn) Set(conn *grpc.ClientConn) { c.conn.Store(conn) }

var errNotServing = status.Error(codes.Unavailable, "server not started")

// Invoke performs a unary RPC.
func (c *SelfConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc := c.conn.Load()
	if cc == nil {
		return errNotServing
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

// NewStream begins a streaming RPC.
func (c *SelfConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc := c.conn.Load()
	if cc == nil {
		return nil, errNotServing
	}
	return cc.NewStream(ctx, desc, method, opts...)
}
