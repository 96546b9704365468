package store

import (
	"encoding/json"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

type meter struct {
	Key         string
	FeatureKey  string
	Aggregation string
	Description string
	CreateTime  time.Time
	FedByQuota  bool
}

func (r meter) toDomain() metering.Meter {
	a, _ := metering.ParseAggregation(r.Aggregation)
	return metering.Meter{Key: r.Key, Feature: r.FeatureKey, Aggregation: a, Description: r.Description, CreateTime: r.CreateTime.UTC(),
		FedByQuota: r.FedByQuota}
}

type event struct {
	EventID        string
	CustomerID     string
	MeterKey       string
	Quantity       string
	Time           time.Time
	IdempotencyKey string
	Subject        string
	Delta          bool
	Source         string
	Properties     string
	ReceivedTime   time.Time
}

func (r event) toDomain() (metering.Event, error) {
	q, err := parse(r.Quantity)
	if err != nil {
		return metering.Event{}, err
	}
	e := metering.Event{ID: r.EventID, CustomerID: r.CustomerID, Meter: r.MeterKey, Quantity: q, Time: r.Time.UTC(),
		Key: r.IdempotencyKey, Subject: r.Subject, Delta: r.Delta, Source: r.Source}
	if r.Properties != "" {
		if err := json.Unmarshal([]byte(r.Properties), &e.Properties); err != nil {
			return metering.Event{}, err
		}
	}
	return e, nil
}

type rollup struct {
	CustomerID string
	MeterKey   string
	Hour       time.Time
	Subject    string
	Total      string
	Count      int64
	Max        string
	LatestTime time.Time
	Latest     string
}

func (r rollup) toDomain() (metering.Rollup, error) {
	out := metering.Rollup{Hour: r.Hour.UTC(), Subject: r.Subject, Count: r.Count, LatestTime: r.LatestTime.UTC()}
	var err error
	if out.Total, err = parse(r.Total); err != nil {
		return out, err
	}
	if out.Max, err = parse(r.Max); err != nil {
		return out, err
	}
	out.Latest, err = parse(r.Latest)
	return out, err
}

type gaugePoint struct {
	CustomerID string
	MeterKey   string
	Subject    string
	Time       time.Time
	EventID    string
	Value      string
	Delta      bool
	Level      string
}

func fromGaugePoint(customerID, meterKey string, p metering.GaugePoint) *gaugePoint {
	return &gaugePoint{CustomerID: customerID, MeterKey: meterKey, Subject: p.Subject, Time: p.Time, EventID: p.EventID,
		Value: p.Value.String(), Delta: p.Delta, Level: p.Level.String()}
}

func gaugePoints(rows []gaugePoint) ([]metering.GaugePoint, error) {
	out := make([]metering.GaugePoint, len(rows))
	for i, r := range rows {
		v, err := parse(r.Value)
		if err != nil {
			return nil, err
		}
		l, err := parse(r.Level)
		if err != nil {
			return nil, err
		}
		out[i] = metering.GaugePoint{Subject: r.Subject, Time: r.Time.UTC(), EventID: r.EventID, Value: v, Delta: r.Delta, Level: l}
	}
	return out, nil
}

type sourceDay struct {
	CustomerID string
	Source     string
	Day        time.Time
}

type completenessMark struct {
	Source     string
	CustomerID string
	StartTime  time.Time
	EndTime    time.Time
	CreateTime time.Time
}

type closedPeriod struct {
	CustomerID   string
	ClosedBefore time.Time
}
