// Package ids makes the identifiers of every Meterplane service: a short
// prefix naming the kind of thing ("cus", "sub", "evt") and a UUIDv7 in
// hex, so that ids sort by creation time and say what they name.
package ids

import (
	"encoding/hex"

	"github.com/google/uuid"
)

// New returns a new time-ordered id such as "cus_0190c2…".
func New(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + hex.EncodeToString(u[:])
}
