// Package latency is the latency histogram of the load generators: calls
// are counted in log-linear microsecond buckets, exact below 2,048 µs,
// then 1,024 buckets per doubling (0.1 % wide), so that recording a call
// allocates nothing and histograms merge by addition.
package latency

import (
	"math/bits"
	"time"
)

// Histogram counts the latencies of successful calls and the errors.
type Histogram struct {
	counts [20480]uint32
	// N is how many successful calls were recorded, Errors how many failed
	// and FirstErr the first failure.
	N        int
	Errors   int
	FirstErr error
}

func bucket(d time.Duration) int {
	us := uint64(d.Microseconds())
	if us < 2048 {
		return int(us)
	}
	shift := bits.Len64(us) - 11
	return min(2048+(shift-1)*1024+int(us>>shift)-1024, 20479)
}

func lower(b int) time.Duration {
	if b < 2048 {
		return time.Duration(b) * time.Microsecond
	}
	shift := (b-2048)/1024 + 1
	mantissa := uint64((b-2048)%1024 + 1024)
	return time.Duration(mantissa<<shift) * time.Microsecond
}

// Add records a call that took d and failed with err (nil: succeeded).
func (h *Histogram) Add(d time.Duration, err error) {
	if err != nil {
		h.Errors++
		if h.FirstErr == nil {
			h.FirstErr = err
		}
		return
	}
	h.counts[bucket(d)]++
	h.N++
}

// Merge adds o's calls to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.N += o.N
	h.Errors += o.Errors
	if h.FirstErr == nil {
		h.FirstErr = o.FirstErr
	}
}

// Quantile returns the latency below which the fraction q of the
// successful calls fall, to 10 µs.
func (h *Histogram) Quantile(q float64) time.Duration {
	want := int(q * float64(h.N))
	seen := 0
	for i, c := range h.counts {
		seen += int(c)
		if seen > want {
			return lower(i).Round(10 * time.Microsecond)
		}
	}
	return 0
}
