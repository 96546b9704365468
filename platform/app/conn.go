package app

import (
	"context"
	"strings"
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

// unsetPeer is the connection to a peer service whose address is not set
// (MP_<NAME>_ADDR): the binary's own server, which serves the peer only if
// the binary hosts it, as the all-in-one binary does. Where it does not,
// the server answers Unimplemented ("unknown service"), which callers
// would report as an internal error; unsetPeer answers Unavailable
// instead, naming the setting that is missing.
type unsetPeer struct {
	*SelfConn
	name string
}

// Invoke performs a unary RPC.
func (c unsetPeer) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.explain(c.SelfConn.Invoke(ctx, method, args, reply, opts...))
}

// NewStream begins a streaming RPC.
func (c unsetPeer) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.SelfConn.NewStream(ctx, desc, method, opts...)
	return s, c.explain(err)
}

func (c unsetPeer) explain(err error) error {
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented || !strings.HasPrefix(st.Message(), "unknown service") {
		return err
	}
	return status.Errorf(codes.Unavailable, "this process does not run the %s service, and MP_%s_ADDR, its address, is not set",
		c.name, strings.ToUpper(c.name))
}
