package store

import (
	"database/sql"
	"time"

	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

type customer struct {
	ID         string
	ExternalID sql.NullString
	Name       string
	Email      string
	Currency   string
	AnchorKind string
	AnchorDate sql.NullTime
	ParentID   sql.NullString
	CreateTime time.Time
	UpdateTime time.Time
}

func fromCustomer(c subscription.Customer) *customer {
	return &customer{
		ID: c.ID, ExternalID: nullString(c.ExternalID), Name: c.Name, Email: c.Email, Currency: c.Currency,
		AnchorKind: c.Anchor.Kind.String(), AnchorDate: nullTime(c.Anchor.Date), ParentID: nullString(c.ParentID),
		CreateTime: c.CreateTime, UpdateTime: c.UpdateTime,
	}
}

func (r customer) toDomain() subscription.Customer {
	kind, _ := subscription.ParseAnchorKind(r.AnchorKind)
	return subscription.Customer{
		ID: r.ID, ExternalID: r.ExternalID.String, Name: r.Name, Email: r.Email, Currency: r.Currency,
		Anchor: subscription.Anchor{Kind: kind, Date: timeOf(r.AnchorDate)}, ParentID: r.ParentID.String,
		CreateTime: r.CreateTime.UTC(), UpdateTime: r.UpdateTime.UTC(),
	}
}

type planVersion struct {
	PlanID  string
	Version int32
	Content string
}

type subscriptionRow struct {
	ID             string
	CustomerID     string
	BillSeparately bool
	CreateTime     time.Time
}

func (subscriptionRow) TableName() string { return "subscriptions" }

type changeRow struct {
	ID             string
	SubscriptionID string
	Seq            int64
	Kind           string
	PlanID         string
	PlanKey        string
	Version        int32
	Quantity       int64
	EffectiveTime  time.Time
	TrialEnd       sql.NullTime
	BackdateReason string
	CreateTime     time.Time
	WithdrawTime   sql.NullTime
}

func (changeRow) TableName() string { return "changes" }

var kinds = map[subscription.ChangeKind]string{
	subscription.KindSubscribe: "subscribe", subscription.KindPlan: "plan",
	subscription.KindQuantity: "quantity", subscription.KindCancel: "cancel",
}

func fromChange(c subscription.Change) *changeRow {
	return &changeRow{
		ID: c.ID, SubscriptionID: c.SubscriptionID, Seq: c.Seq, Kind: kinds[c.Kind], PlanID: c.PlanID, PlanKey: c.PlanKey,
		Version: c.Version, Quantity: c.Quantity, EffectiveTime: c.Effective, TrialEnd: nullTime(c.TrialEnd),
		BackdateReason: c.BackdateReason, CreateTime: c.CreateTime, WithdrawTime: nullTime(c.WithdrawTime),
	}
}

func (r changeRow) toDomain() subscription.Change {
	var kind subscription.ChangeKind
	for k, name := range kinds {
		if name == r.Kind {
			kind = k
		}
	}
	return subscription.Change{
		ID: r.ID, SubscriptionID: r.SubscriptionID, Seq: r.Seq, Kind: kind, PlanID: r.PlanID, PlanKey: r.PlanKey,
		Version: r.Version, Quantity: r.Quantity, Effective: r.EffectiveTime.UTC(), TrialEnd: timeOf(r.TrialEnd),
		BackdateReason: r.BackdateReason, CreateTime: r.CreateTime.UTC(), WithdrawTime: timeOf(r.WithdrawTime),
	}
}

type segmentRow struct {
	ID             string
	SubscriptionID string
	CustomerID     string
	PlanID         string
	PlanKey        string
	Version        int32
	Quantity       int64
	StartTime      time.Time
	EndTime        sql.NullTime
	Trial          bool
	CreateTime     time.Time
	SupersededTime sql.NullTime
	// BillSeparately is read from the subscription, never written.
	BillSeparately bool `gorm:"->"`
}

func (segmentRow) TableName() string { return "segments" }

func fromSegment(s subscription.Segment, at time.Time) segmentRow {
	return segmentRow{
		ID: s.ID, SubscriptionID: s.SubscriptionID, CustomerID: s.CustomerID, PlanID: s.PlanID, PlanKey: s.PlanKey,
		Version: s.Version, Quantity: s.Quantity, StartTime: s.Start, EndTime: nullTime(s.End), Trial: s.Trial, CreateTime: at,
	}
}

func (r segmentRow) toDomain() subscription.Segment {
	return subscription.Segment{
		ID: r.ID, SubscriptionID: r.SubscriptionID, CustomerID: r.CustomerID, PlanID: r.PlanID, PlanKey: r.PlanKey,
		Version: r.Version, Quantity: r.Quantity, Start: r.StartTime.UTC(), End: timeOf(r.EndTime), Trial: r.Trial,
		BillSeparately: r.BillSeparately,
	}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

func timeOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
