// Package redisx connects services to Redis: one server or a Redis Cluster
// when REDIS_URL is set, otherwise an in-process Redis-protocol server
// (miniredis) listening on loopback, so the same go-redis code paths run
// with nothing installed.
//
// On a cluster every command and script must touch keys of one hash slot
// only: keys that a script or a transaction uses together share a hash tag,
// the part of the key between the first "{" and the next "}" (for example
// every key of one customer under "{cus_…}").
package redisx

import (
	"context"
	"fmt"
	neturl "net/url"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Client is the go-redis client of a Redis: a *redis.Client on one server,
// a *redis.ClusterClient on a cluster.
type Client = redis.UniversalClient

// Redis is a client with the server behind it.
type Redis struct {
	Client
	embedded *miniredis.Miniredis
	cluster  bool
}

// clusterSuffix marks the scheme of a URL that names a cluster:
// redis+cluster:// or rediss+cluster:// (TLS).
const clusterSuffix = "+cluster"

// Open connects to url, or starts the in-process server when url is empty.
//
// A URL redis://host:port/db (rediss:// for TLS) names one server. A URL
// redis+cluster://host1:port1?addr=host2:port2&addr=host3:port3
// (rediss+cluster:// for TLS) names a Redis Cluster by some of its nodes;
// the client discovers the others. The cluster URL takes the query
// parameters of go-redis' ParseClusterURL and has no database number.
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
	var addrs string
	if IsClusterURL(url) {
		opts, err := redis.ParseClusterURL(strings.Replace(url, clusterSuffix+"://", "://", 1))
		if err != nil {
			return nil, fmt.Errorf("redis cluster: %w", err)
		}
		if u, _ := neturl.Parse(url); strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("redis cluster: %s: a cluster has no database number", url)
		}
		r.Client = redis.NewClusterClient(opts)
		r.cluster = true
		addrs = strings.Join(opts.Addrs, ",")
	} else {
		opts, err := redis.ParseURL(url)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		r.Client = redis.NewClient(opts)
		addrs = opts.Addr
	}
	instrument(r.Client)
	if err := r.Ping(ctx).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", addrs, err)
	}
	return r, nil
}

// IsClusterURL reports whether url names a Redis Cluster (see Open).
func IsClusterURL(url string) bool {
	scheme, _, ok := strings.Cut(url, "://")
	return ok && strings.HasSuffix(scheme, clusterSuffix)
}

// Embedded reports whether the server is the in-process one.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// Cluster reports whether the client talks to a Redis Cluster.
func (r *Redis) Cluster() bool { return r.cluster }

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
