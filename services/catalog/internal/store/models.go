package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
)

// The gorm models, one per table of migrations/0001_init.sql. Decimals are
// stored as their exact strings.

type feature struct {
	Key        string `gorm:"primaryKey"`
	Name       string
	Unit       string
	Kind       string
	CreateTime time.Time
}

func (feature) TableName() string { return "features" }

func fromFeature(f catalog.Feature) *feature {
	return &feature{Key: f.Key, Name: f.Name, Unit: f.Unit, Kind: string(f.Kind), CreateTime: f.CreateTime}
}

func (r feature) toDomain() catalog.Feature {
	return catalog.Feature{Key: r.Key, Name: r.Name, Unit: r.Unit, Kind: catalog.FeatureKind(r.Kind), CreateTime: r.CreateTime.UTC()}
}

type plan struct {
	ID               string `gorm:"primaryKey"`
	Key              string
	Name             string
	Description      string
	Currency         string
	IntervalUnit     string
	IntervalCount    int32
	OfferingKey      *string
	Status           string
	PublishedVersion int32
	DraftVersion     int32
	CreateTime       time.Time
	UpdateTime       time.Time
}

func (plan) TableName() string { return "plans" }

func fromPlan(p catalog.Plan) *plan {
	return &plan{
		ID: p.ID, Key: p.Key, Name: p.Name, Description: p.Description, Currency: p.Currency,
		IntervalUnit: string(p.Interval.Unit), IntervalCount: p.Interval.Count,
		OfferingKey: nullable(p.OfferingKey), Status: string(p.Status),
		PublishedVersion: p.PublishedVersion, DraftVersion: p.DraftVersion,
		CreateTime: p.CreateTime, UpdateTime: p.UpdateTime,
	}
}

func (r plan) toDomain() catalog.Plan {
	return catalog.Plan{
		ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description, Currency: r.Currency,
		Interval:    catalog.BillingInterval{Unit: catalog.IntervalUnit(r.IntervalUnit), Count: r.IntervalCount},
		OfferingKey: deref(r.OfferingKey), Status: catalog.PlanStatus(r.Status),
		PublishedVersion: r.PublishedVersion, DraftVersion: r.DraftVersion,
		CreateTime: r.CreateTime.UTC(), UpdateTime: r.UpdateTime.UTC(),
	}
}

type planVersion struct {
	PlanID      string `gorm:"primaryKey"`
	Version     int32  `gorm:"primaryKey"`
	Status      string
	Content     string
	PublishTime *time.Time
	CreateTime  time.Time
}

func (planVersion) TableName() string { return "plan_versions" }

func fromVersion(v catalog.PlanVersion) (*planVersion, error) {
	content, err := json.Marshal(fromContent(v.Content))
	if err != nil {
		return nil, fmt.Errorf("store: encode plan version: %w", err)
	}
	row := &planVersion{PlanID: v.PlanID, Version: v.Version, Status: string(v.Status), Content: string(content), CreateTime: v.CreateTime}
	if !v.PublishTime.IsZero() {
		row.PublishTime = &v.PublishTime
	}
	return row, nil
}

func (r planVersion) toDomain() (catalog.PlanVersion, error) {
	var doc contentDoc
	if err := json.Unmarshal([]byte(r.Content), &doc); err != nil {
		return catalog.PlanVersion{}, fmt.Errorf("store: decode plan version %s/%d: %w", r.PlanID, r.Version, err)
	}
	content, err := doc.toDomain()
	if err != nil {
		return catalog.PlanVersion{}, fmt.Errorf("store: decode plan version %s/%d: %w", r.PlanID, r.Version, err)
	}
	v := catalog.PlanVersion{PlanID: r.PlanID, Version: r.Version, Status: catalog.VersionStatus(r.Status), Content: content, CreateTime: r.CreateTime.UTC()}
	if r.PublishTime != nil {
		v.PublishTime = r.PublishTime.UTC()
	}
	return v, nil
}

type computePlan struct {
	Key           string `gorm:"primaryKey"`
	Name          string
	VCPURequest   string `gorm:"column:vcpu_request"`
	VCPULimit     string `gorm:"column:vcpu_limit"`
	MemoryRequest string
	MemoryLimit   string
}

func (computePlan) TableName() string { return "compute_plans" }

func fromComputePlan(c catalog.ComputePlan) *computePlan {
	return &computePlan{
		Key: c.Key, Name: c.Name, VCPURequest: money.Format(c.VCPURequest), VCPULimit: money.Format(c.VCPULimit),
		MemoryRequest: c.MemoryRequest, MemoryLimit: c.MemoryLimit,
	}
}

func (r computePlan) toDomain() (catalog.ComputePlan, error) {
	var p parser
	c := catalog.ComputePlan{
		Key: r.Key, Name: r.Name, VCPURequest: p.dec(r.VCPURequest), VCPULimit: p.dec(r.VCPULimit),
		MemoryRequest: r.MemoryRequest, MemoryLimit: r.MemoryLimit,
	}
	return c, p.wrap("compute plan", r.Key)
}

type storagePlan struct {
	Key          string `gorm:"primaryKey"`
	Name         string
	PricePerGiB  string `gorm:"column:price_per_gib"`
	Currency     string
	PriceUnit    string
	ERPProductID string `gorm:"column:erp_product_id"`
	ERPUnitID    string `gorm:"column:erp_unit_id"`
}

func (storagePlan) TableName() string { return "storage_plans" }

func fromStoragePlan(s catalog.StoragePlan) *storagePlan {
	return &storagePlan{
		Key: s.Key, Name: s.Name, PricePerGiB: money.Format(s.PricePerGiB.Amount), Currency: s.PricePerGiB.Currency,
		PriceUnit: string(s.PriceUnit), ERPProductID: s.ERPProductID, ERPUnitID: s.ERPUnitID,
	}
}

func (r storagePlan) toDomain() (catalog.StoragePlan, error) {
	var p parser
	s := catalog.StoragePlan{
		Key: r.Key, Name: r.Name, PricePerGiB: catalog.Money{Amount: p.dec(r.PricePerGiB), Currency: r.Currency},
		PriceUnit: catalog.PriceUnit(r.PriceUnit), ERPProductID: r.ERPProductID, ERPUnitID: r.ERPUnitID,
	}
	return s, p.wrap("storage plan", r.Key)
}

type offering struct {
	Key            string `gorm:"primaryKey"`
	Name           string
	Service        string
	ControlPlane   string
	StoragePlanKey *string
}

func (offering) TableName() string { return "offerings" }

func fromOffering(o catalog.Offering) *offering {
	return &offering{Key: o.Key, Name: o.Name, Service: o.Service, ControlPlane: o.ControlPlane, StoragePlanKey: nullable(o.StoragePlanKey)}
}

func (r offering) toDomain(as []catalog.PlanAssignment) catalog.Offering {
	return catalog.Offering{
		Key: r.Key, Name: r.Name, Service: r.Service, ControlPlane: r.ControlPlane,
		StoragePlanKey: deref(r.StoragePlanKey), Assignments: as,
	}
}

type assignment struct {
	OfferingKey      string `gorm:"primaryKey"`
	Position         int    `gorm:"primaryKey"`
	ComputePlanKey   string
	SLA              string `gorm:"column:sla"`
	Price            string
	Currency         string
	PriceUnit        string
	MinimumInstances int32
	ERPProductID     string `gorm:"column:erp_product_id"`
	ERPUnitID        string `gorm:"column:erp_unit_id"`
	PlanKey          *string
}

func (assignment) TableName() string { return "offering_assignments" }

func fromAssignment(offeringKey string, position int, a catalog.PlanAssignment) assignment {
	return assignment{
		OfferingKey: offeringKey, Position: position, ComputePlanKey: a.ComputePlanKey, SLA: string(a.SLA),
		Price: money.Format(a.Price.Amount), Currency: a.Price.Currency, PriceUnit: string(a.PriceUnit),
		MinimumInstances: a.MinimumInstances, ERPProductID: a.ERPProductID, ERPUnitID: a.ERPUnitID,
		PlanKey: nullable(a.PlanKey),
	}
}

func (r assignment) toDomain() (catalog.PlanAssignment, error) {
	var p parser
	a := catalog.PlanAssignment{
		ComputePlanKey: r.ComputePlanKey, SLA: catalog.SLA(r.SLA),
		Price: catalog.Money{Amount: p.dec(r.Price), Currency: r.Currency}, PriceUnit: catalog.PriceUnit(r.PriceUnit),
		MinimumInstances: r.MinimumInstances, ERPProductID: r.ERPProductID, ERPUnitID: r.ERPUnitID,
		PlanKey: deref(r.PlanKey),
	}
	return a, p.wrap("assignment of offering", r.OfferingKey)
}

// contentDoc is the JSON document of a version's charges and entitlements,
// in the plan_versions.content column. Its field names are the stored
// format: never rename them.
type contentDoc struct {
	Charges      []chargeDoc      `json:"charges"`
	Entitlements []entitlementDoc `json:"entitlements"`
}

type chargeDoc struct {
	Key         string        `json:"key"`
	Description string        `json:"description,omitempty"`
	Recurring   *recurringDoc `json:"recurring,omitempty"`
	OneTime     *oneTimeDoc   `json:"one_time,omitempty"`
	Usage       *usageDoc     `json:"usage,omitempty"`
}

type recurringDoc struct {
	Amount   string `json:"amount"`
	Timing   string `json:"timing"`
	Prorated bool   `json:"prorated"`
}

type oneTimeDoc struct {
	Amount string `json:"amount"`
}

type usageDoc struct {
	FeatureKey string      `json:"feature_key"`
	Model      string      `json:"model"`
	UnitPrice  *string     `json:"unit_price,omitempty"`
	Tiers      []tierDoc   `json:"tiers,omitempty"`
	Package    *packageDoc `json:"package,omitempty"`
}

type tierDoc struct {
	UpTo      *string `json:"up_to,omitempty"`
	UnitPrice string  `json:"unit_price"`
	FlatPrice string  `json:"flat_price"`
}

type packageDoc struct {
	Size         string `json:"size"`
	Price        string `json:"price"`
	FreePackages int64  `json:"free_packages"`
}

type entitlementDoc struct {
	FeatureKey       string  `json:"feature_key"`
	IncludedQuantity string  `json:"included_quantity"`
	LimitPolicy      string  `json:"limit_policy"`
	OveragePrice     *string `json:"overage_price,omitempty"`
	ResetPeriod      string  `json:"reset_period,omitempty"`
}

func fromContent(c catalog.Content) contentDoc {
	doc := contentDoc{Charges: []chargeDoc{}, Entitlements: []entitlementDoc{}}
	for _, ch := range c.Charges {
		d := chargeDoc{Key: ch.Key, Description: ch.Description}
		if r := ch.Recurring; r != nil {
			d.Recurring = &recurringDoc{Amount: money.Format(r.Amount), Timing: string(r.Timing), Prorated: r.Prorated}
		}
		if o := ch.OneTime; o != nil {
			d.OneTime = &oneTimeDoc{Amount: money.Format(o.Amount)}
		}
		if u := ch.Usage; u != nil {
			d.Usage = &usageDoc{FeatureKey: u.FeatureKey, Model: string(u.Model), UnitPrice: formatPtr(u.UnitPrice)}
			for _, t := range u.Tiers {
				d.Usage.Tiers = append(d.Usage.Tiers, tierDoc{UpTo: formatPtr(t.UpTo), UnitPrice: money.Format(t.UnitPrice), FlatPrice: money.Format(t.FlatPrice)})
			}
			if p := u.Package; p != nil {
				d.Usage.Package = &packageDoc{Size: money.Format(p.Size), Price: money.Format(p.Price), FreePackages: p.FreePackages}
			}
		}
		doc.Charges = append(doc.Charges, d)
	}
	for _, e := range c.Entitlements {
		doc.Entitlements = append(doc.Entitlements, entitlementDoc{
			FeatureKey: e.FeatureKey, IncludedQuantity: money.Format(e.IncludedQuantity), LimitPolicy: string(e.LimitPolicy),
			OveragePrice: formatPtr(e.OveragePrice), ResetPeriod: string(e.ResetPeriod),
		})
	}
	return doc
}

func (doc contentDoc) toDomain() (catalog.Content, error) {
	var p parser
	var c catalog.Content
	for _, d := range doc.Charges {
		ch := catalog.Charge{Key: d.Key, Description: d.Description}
		if r := d.Recurring; r != nil {
			ch.Recurring = &catalog.RecurringFee{Amount: p.dec(r.Amount), Timing: catalog.FeeTiming(r.Timing), Prorated: r.Prorated}
		}
		if o := d.OneTime; o != nil {
			ch.OneTime = &catalog.OneTimeFee{Amount: p.dec(o.Amount)}
		}
		if u := d.Usage; u != nil {
			ch.Usage = &catalog.UsageCharge{FeatureKey: u.FeatureKey, Model: catalog.PricingModel(u.Model), UnitPrice: p.decPtr(u.UnitPrice)}
			for _, t := range u.Tiers {
				ch.Usage.Tiers = append(ch.Usage.Tiers, catalog.PriceTier{UpTo: p.decPtr(t.UpTo), UnitPrice: p.dec(t.UnitPrice), FlatPrice: p.dec(t.FlatPrice)})
			}
			if pk := u.Package; pk != nil {
				ch.Usage.Package = &catalog.PackagePrice{Size: p.dec(pk.Size), Price: p.dec(pk.Price), FreePackages: pk.FreePackages}
			}
		}
		c.Charges = append(c.Charges, ch)
	}
	for _, d := range doc.Entitlements {
		c.Entitlements = append(c.Entitlements, catalog.Entitlement{
			FeatureKey: d.FeatureKey, IncludedQuantity: p.dec(d.IncludedQuantity), LimitPolicy: catalog.LimitPolicy(d.LimitPolicy),
			OveragePrice: p.decPtr(d.OveragePrice), ResetPeriod: catalog.ResetPeriod(d.ResetPeriod),
		})
	}
	return c, p.err
}

func formatPtr(d *money.Decimal) *string {
	if d == nil {
		return nil
	}
	s := money.Format(*d)
	return &s
}

// parser reads stored decimal strings and keeps the first error.
type parser struct{ err error }

func (p *parser) dec(s string) money.Decimal {
	d, err := money.Parse(s)
	if err != nil && p.err == nil {
		p.err = err
	}
	return d
}

func (p *parser) decPtr(s *string) *money.Decimal {
	if s == nil {
		return nil
	}
	d := p.dec(*s)
	return &d
}

func (p *parser) wrap(what, key string) error {
	if p.err == nil {
		return nil
	}
	return fmt.Errorf("store: decode %s %q: %w", what, key, p.err)
}
