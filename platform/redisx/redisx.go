// Package redisx connects services to Redis: a real server when REDIS_URL
// is set, otherwise an in-process Redis-protocol server (miniredis) listening
// on loopback, so the same go-redis code paths run with nothing installed.
package redisx

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis is a client with the server behind it.
type Redis struct {
	*redis.Client
	embedded *miniredis.Miniredis
}

// Open connects to url, or starts the in-process server when url is empty.
func Open(ctx context.Context, url string) (*Redis, error) {
	r := &Redis{}
	if url == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("redis: start in-process server: %w", err)
		}
		r.embedded = m
		url = "redis://" + m.Addr()
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	r.Client = redis.NewClient(opts)
	if err := r.Ping(ctx).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", opts.Addr, err)
	}
	return r, nil
}

// Embedded reports whether the server is the in-process one.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// Close closes the client and stops the in-process server, if any.
func (r *Redis) Close() error {
	var err error
	if r.Client != nil {
		err = r.Client.Close()
	}
	if r.embedded != nil {
		r.embedded.Close()
	}
	return err
}
