package catalog

import (
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/money"
)

var memoryPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$`)

// memorySuffixes maps a Kubernetes quantity suffix to its number of bytes.
var memorySuffixes = map[string]money.Decimal{
	"":   decimal.NewFromInt(1),
	"k":  decimal.New(1, 3),
	"M":  decimal.New(1, 6),
	"G":  decimal.New(1, 9),
	"T":  decimal.New(1, 12),
	"P":  decimal.New(1, 15),
	"E":  decimal.New(1, 18),
	"Ki": decimal.NewFromInt(1 << 10),
	"Mi": decimal.NewFromInt(1 << 20),
	"Gi": decimal.NewFromInt(1 << 30),
	"Ti": decimal.NewFromInt(1 << 40),
	"Pi": decimal.NewFromInt(1 << 50),
	"Ei": decimal.NewFromInt(1 << 60),
}

// ParseMemory reads a memory size in Kubernetes notation, a plain decimal
// number with an optional binary (Ki, Mi, Gi, Ti, Pi, Ei) or decimal (k, M,
// G, T, P, E) suffix, such as "512Mi", "2Gi" or "1.5Gi", and returns it in
// bytes. Exponents and milli units are refused.
func ParseMemory(s string) (money.Decimal, error) {
	m := memoryPattern.FindStringSubmatch(s)
	if m == nil {
		return money.Zero, fmt.Errorf("%q is not a memory size in Kubernetes notation, like 512Mi or 2Gi", s)
	}
	n, err := money.Parse(m[1])
	if err != nil {
		return money.Zero, err
	}
	return n.Mul(memorySuffixes[m[2]]), nil
}
