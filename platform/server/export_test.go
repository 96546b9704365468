package server

import "google.golang.org/protobuf/proto"

// RequestHash is the hash the idempotency interceptor stores for m.
func RequestHash(m proto.Message) []byte {
	h, err := requestHash(m)
	if err != nil {
		panic(err)
	}
	return h
}
