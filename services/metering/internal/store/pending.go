package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// AddPending stores the rollup deltas of one batch until a fold takes them.
func (s *Store) AddPending(ctx context.Context, batchID string, deltas []metering.RollupDelta) error {
	if err := s.db.Conn(ctx).Exec("INSERT INTO pending_rollups (batch_id, deltas) VALUES (?, ?)", batchID, encodeDeltas(deltas)).Error; err != nil {
		return fmt.Errorf("store: add pending rollups: %w", err)
	}
	return nil
}

// TakePending deletes up to limit batches of pending deltas and returns
// their deltas; a batch it cannot decode it moves to the quarantine. On
// PostgreSQL it skips the batches another transaction holds, unless wait is
// set: then it waits for that transaction and takes what it left.
func (s *Store) TakePending(ctx context.Context, limit int, wait bool, at time.Time) (metering.Taken, error) {
	lock := ""
	if s.pg {
		lock = " FOR UPDATE"
		if !wait {
			lock += " SKIP LOCKED"
		}
	}
	var batches []struct {
		BatchID string
		Deltas  []byte
	}
	err := s.db.Conn(ctx).Raw(`DELETE FROM pending_rollups WHERE batch_id IN
		(SELECT batch_id FROM pending_rollups ORDER BY batch_id LIMIT ?`+lock+`) RETURNING batch_id, deltas`, limit).Scan(&batches).Error
	if err != nil {
		return metering.Taken{}, fmt.Errorf("store: take pending rollups: %w", err)
	}
	var out metering.Taken
	for _, b := range batches {
		ds, err := decodeDeltas(out.Deltas, b.Deltas)
		if err != nil {
			q := metering.Quarantined{BatchID: b.BatchID, Error: err.Error(), Time: at}
			if err := s.addQuarantined(ctx, q, b.Deltas); err != nil {
				return metering.Taken{}, err
			}
			out.Bad = append(out.Bad, q)
			continue
		}
		out.Deltas = ds
		out.IDs = append(out.IDs, b.BatchID)
	}
	return out, nil
}

// Quarantine moves a pending batch to the quarantine, in one transaction.
func (s *Store) Quarantine(ctx context.Context, batchID, reason string, at time.Time) error {
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		var rows []struct{ Deltas []byte }
		if err := s.db.Conn(ctx).Raw("DELETE FROM pending_rollups WHERE batch_id = ? RETURNING deltas", batchID).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		return s.addQuarantined(ctx, metering.Quarantined{BatchID: batchID, Error: reason, Time: at}, rows[0].Deltas)
	})
	if err != nil {
		return fmt.Errorf("store: quarantine batch %s: %w", batchID, err)
	}
	return nil
}

func (s *Store) addQuarantined(ctx context.Context, q metering.Quarantined, deltas []byte) error {
	err := s.db.Conn(ctx).Exec(`INSERT INTO quarantined_rollups (batch_id, deltas, error, quarantine_time) VALUES (?, ?, ?, ?)
		ON CONFLICT (batch_id) DO NOTHING`, q.BatchID, deltas, q.Error, q.Time).Error
	if err != nil {
		return fmt.Errorf("store: quarantine batch %s: %w", q.BatchID, err)
	}
	return nil
}

// ListQuarantined returns up to limit quarantined batches after after, by
// id.
func (s *Store) ListQuarantined(ctx context.Context, after string, limit int) ([]metering.Quarantined, error) {
	var rows []struct {
		BatchID        string
		Error          string
		QuarantineTime time.Time
	}
	err := s.db.Conn(ctx).Raw(`SELECT batch_id, error, quarantine_time FROM quarantined_rollups
		WHERE batch_id > ? ORDER BY batch_id LIMIT ?`, after, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list quarantined batches: %w", err)
	}
	out := make([]metering.Quarantined, len(rows))
	for i, r := range rows {
		out[i] = metering.Quarantined{BatchID: r.BatchID, Error: r.Error, Time: r.QuarantineTime.UTC()}
	}
	return out, nil
}

// HasPending reports whether any batch's deltas wait for a fold.
func (s *Store) HasPending(ctx context.Context) (bool, error) {
	var n int64
	if err := s.db.Conn(ctx).Raw("SELECT COUNT(*) FROM (SELECT 1 FROM pending_rollups LIMIT 1) p").Scan(&n).Error; err != nil {
		return false, fmt.Errorf("store: look for pending rollups: %w", err)
	}
	return n > 0, nil
}

// encodeDeltas writes deltas compactly: per delta, the customer, meter and
// subject as length-prefixed strings, the hour in Unix seconds, the count,
// the latest time in Unix microseconds, and total, max and latest as
// decimals: a coefficient of up to 18 digits and an exponent as varints,
// or, flagged by an exponent above MaxInt32, a decimal string.
func encodeDeltas(ds []metering.RollupDelta) []byte {
	b := binary.AppendUvarint(nil, uint64(len(ds)))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, d := range ds {
		str(d.CustomerID)
		str(d.Meter)
		str(d.Subject)
		b = binary.AppendVarint(b, d.Hour.Unix())
		b = binary.AppendVarint(b, d.Count)
		b = binary.AppendVarint(b, d.LatestTime.UnixMicro())
		for _, x := range []decimal.Decimal{d.Total, d.Max, d.Latest} {
			if x.NumDigits() <= 18 {
				b = binary.AppendVarint(b, x.CoefficientInt64())
				b = binary.AppendVarint(b, int64(x.Exponent()))
			} else {
				b = binary.AppendVarint(b, 0)
				b = binary.AppendVarint(b, math.MaxInt32+1)
				str(x.String())
			}
		}
	}
	return b
}

var errBadDeltas = errors.New("store: malformed pending rollup deltas")

// decodeDeltas appends the deltas encodeDeltas wrote in b to out.
func decodeDeltas(out []metering.RollupDelta, b []byte) ([]metering.RollupDelta, error) {
	var bad bool
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	varint := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() string {
		n := uvarint()
		if bad || n > uint64(len(b)) {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	dec := func() decimal.Decimal {
		coefficient, exponent := varint(), varint()
		if exponent >= math.MinInt32 && exponent <= math.MaxInt32 {
			return decimal.New(coefficient, int32(exponent))
		}
		d, err := decimal.NewFromString(str())
		if err != nil || exponent != math.MaxInt32+1 {
			bad = true
		}
		return d
	}
	n := uvarint()
	out = slices.Grow(out, int(min(n, uint64(len(b))))) // each delta takes more than a byte
	for range n {
		var d metering.RollupDelta
		d.CustomerID, d.Meter, d.Subject = str(), str(), str()
		d.Hour = time.Unix(varint(), 0).UTC()
		d.Count = varint()
		d.LatestTime = time.UnixMicro(varint()).UTC()
		d.Total, d.Max, d.Latest = dec(), dec(), dec()
		if bad {
			return nil, errBadDeltas
		}
		out = append(out, d)
	}
	if bad || len(b) != 0 {
		return nil, errBadDeltas
	}
	return out, nil
}
