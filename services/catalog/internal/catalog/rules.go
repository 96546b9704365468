package catalog

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/shopspring/decimal"
)

// Bounds of a billing interval: 1 to MaxIntervalCount units and at most
// MaxIntervalYears in total, so that every billing period from any time
// the system accepts (up to 9000-01-01) is computable.
const (
	MaxIntervalCount = 100
	MaxIntervalYears = 10
)

// MaxAssignments bounds an offering's plan assignments, so that an
// offering and ListPlansForOffering, which shows all of them at once, stay
// small enough to need no pages.
const MaxAssignments = 100

// Limits on the length of keys and texts.
const (
	MaxKeyLength  = 64
	MaxNameLength = 200
	MaxTextLength = 2000
)

var (
	// snakeKey is lower snake case: "sites", "bandwidth_gib", "hosting_50".
	snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	// slugKey also allows '-': "standard-2", "forgejo-cloudscale".
	slugKey = regexp.MustCompile(`^[a-z][a-z0-9]*([_-][a-z0-9]+)*$`)
)

// checkKey records a violation unless key is a valid key: lower snake case,
// or with dashes also allowed when dashes is true.
func checkKey(v *errs.Violations, field, key string, dashes bool) {
	switch {
	case key == "":
		v.Add(field, "is required")
	case len(key) > MaxKeyLength:
		v.Add(field, "must be at most %d characters", MaxKeyLength)
	case dashes && !slugKey.MatchString(key):
		v.Add(field, "must be lower case letters and digits separated by single '_' or '-', starting with a letter")
	case !dashes && !snakeKey.MatchString(key):
		v.Add(field, "must be lower snake case: lower case letters and digits separated by single '_', starting with a letter")
	}
}

// checkName records a violation unless s is a non-empty short text.
func checkName(v *errs.Violations, field, s string) {
	if s == "" {
		v.Add(field, "is required")
		return
	}
	checkText(v, field, s, MaxNameLength)
}

// checkText records a violation if s is not UTF-8 or longer than max characters.
func checkText(v *errs.Violations, field, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		v.Add(field, "must be UTF-8 text")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "must be at most %d characters", max)
	}
}

// checkCurrency records a violation unless code is an ISO 4217 code.
func checkCurrency(v *errs.Violations, field, code string) {
	switch _, ok := money.LookupCurrency(code); {
	case code == "":
		v.Add(field, "is required")
	case !ok:
		v.Add(field, "%q is not an ISO 4217 currency code (upper case, like EUR)", code)
	}
}

// Bounds of the decimals a catalog holds, so that no accepted price or
// quantity can overflow the NUMERIC(38, 18) columns of billing later, even
// multiplied together.
const (
	// MaxPriceIntegerDigits bounds every price and fee: below 10^12.
	MaxPriceIntegerDigits = 12
	// ExtraPriceDigits is how many digits beyond the currency's minor unit
	// a unit price may have ("0.0004" EUR per request).
	ExtraPriceDigits = 6
	// MaxQuantityIntegerDigits and MaxQuantityFractionDigits bound
	// quantities: included quantities, tier bounds, package sizes, vCPUs.
	MaxQuantityIntegerDigits  = 15
	MaxQuantityFractionDigits = 6
)

// checkDigits records a violation if d has more integer digits or, rounded
// to scale fraction digits, changes.
func checkDigits(v *errs.Violations, field string, d money.Decimal, intDigits int, scale int32, unit string) {
	switch {
	case d.Abs().GreaterThanOrEqual(decimal.New(1, int32(intDigits))):
		v.Add(field, "must be below 10^%d", intDigits)
	case !d.Equal(d.Round(scale)):
		v.Add(field, "must have at most %d fraction digits%s", scale, unit)
	}
}

// checkFee records violations unless d is a fee or amount of money: not
// negative, below 10^12, in the currency's minor units ("9.00" EUR, "9"
// JPY). An unknown currency is reported on its own field.
func checkFee(v *errs.Violations, field string, d money.Decimal, currency string) {
	checkNotNegative(v, field, d)
	if c, ok := money.LookupCurrency(currency); ok {
		checkDigits(v, field, d, MaxPriceIntegerDigits, c.Minor, " (the minor unit of "+currency+")")
	}
}

// checkUnitPrice records violations unless d is a price per unit: not
// negative, below 10^12, with at most ExtraPriceDigits digits beyond the
// currency's minor unit.
func checkUnitPrice(v *errs.Violations, field string, d money.Decimal, currency string) {
	checkNotNegative(v, field, d)
	if c, ok := money.LookupCurrency(currency); ok {
		checkDigits(v, field, d, MaxPriceIntegerDigits, c.Minor+ExtraPriceDigits, fmt.Sprintf(" (%d beyond the minor unit of %s)", ExtraPriceDigits, currency))
	}
}

// checkQuantity records violations unless d is a quantity the system
// computes with: not negative, below 10^15, at most 6 fraction digits.
func checkQuantity(v *errs.Violations, field string, d money.Decimal) {
	checkNotNegative(v, field, d)
	checkDigits(v, field, d, MaxQuantityIntegerDigits, MaxQuantityFractionDigits, "")
}

// checkNotNegative records a violation if d is below zero.
func checkNotNegative(v *errs.Violations, field string, d money.Decimal) {
	if d.IsNegative() {
		v.Add(field, "must not be negative")
	}
}

// checkMoney records violations unless m has a valid currency and an amount
// not below zero.
func checkMoney(v *errs.Violations, field string, m Money) {
	checkUnitPrice(v, field+".amount", m.Amount, m.Currency)
	checkCurrency(v, field+".currency", m.Currency)
}

// checkEnum records a violation unless value is one of valid.
func checkEnum[T ~string](v *errs.Violations, field string, value T, valid ...T) {
	if value == "" {
		v.Add(field, "is required")
		return
	}
	for _, ok := range valid {
		if value == ok {
			return
		}
	}
	v.Add(field, "unknown value %q", value)
}

// validate records the violations of a version's charges and entitlements.
// prefix is the field path of the content, like "draft." or "", and
// currency the plan's, which bounds the prices' digits.
func (c Content) validate(v *errs.Violations, prefix, currency string, features map[string]Feature) {
	chargeKeys := map[string]int{}
	usageOf := map[string]int{} // feature key → index of its usage charge
	for i, ch := range c.Charges {
		p := fmt.Sprintf("%scharges[%d]", prefix, i)
		checkKey(v, p+".key", ch.Key, false)
		if j, dup := chargeKeys[ch.Key]; dup && ch.Key != "" {
			v.Add(p+".key", "repeats the key of charges[%d]", j)
		} else {
			chargeKeys[ch.Key] = i
		}
		checkText(v, p+".description", ch.Description, MaxTextLength)
		kinds := 0
		if ch.Recurring != nil {
			kinds++
			checkFee(v, p+".recurring.amount", ch.Recurring.Amount, currency)
			checkEnum(v, p+".recurring.timing", ch.Recurring.Timing, InAdvance, InArrears)
		}
		if ch.OneTime != nil {
			kinds++
			checkFee(v, p+".one_time.amount", ch.OneTime.Amount, currency)
		}
		if u := ch.Usage; u != nil {
			kinds++
			u.validate(v, p+".usage", currency, features)
			if j, dup := usageOf[u.FeatureKey]; dup && u.FeatureKey != "" {
				v.Add(p+".usage.feature_key", "feature %q is already priced by charges[%d]", u.FeatureKey, j)
			} else {
				usageOf[u.FeatureKey] = i
			}
		}
		if kinds != 1 {
			v.Add(p, "exactly one of recurring, one_time and usage must be set")
		}
	}

	entitled := map[string]int{}
	for i, e := range c.Entitlements {
		p := fmt.Sprintf("%sentitlements[%d]", prefix, i)
		f, known := checkFeature(v, p+".feature_key", e.FeatureKey, features)
		if j, dup := entitled[e.FeatureKey]; dup && e.FeatureKey != "" {
			v.Add(p+".feature_key", "feature %q already has entitlements[%d]", e.FeatureKey, j)
		} else {
			entitled[e.FeatureKey] = i
		}
		checkQuantity(v, p+".included_quantity", e.IncludedQuantity)
		checkEnum(v, p+".limit_policy", e.LimitPolicy, Hard, Soft, Unlimited)
		if e.OveragePrice != nil {
			checkUnitPrice(v, p+".overage_price", *e.OveragePrice, currency)
			if e.LimitPolicy == Hard {
				v.Add(p+".overage_price", "must be empty: a hard limit sells no overage")
			}
			if j, priced := usageOf[e.FeatureKey]; priced {
				v.Add(p+".overage_price", "is ambiguous: feature %q is also priced by the usage charge charges[%d]; price it in one place", e.FeatureKey, j)
			}
		}
		switch {
		case !known:
		case f.Kind == Gauge && e.ResetPeriod != "":
			v.Add(p+".reset_period", "must be unset: feature %q is a gauge, which never resets", f.Key)
		case f.Kind == Counter:
			checkEnum(v, p+".reset_period", e.ResetPeriod, ResetBillingPeriod, ResetMonth, ResetDay, ResetNever)
		}
	}
}

// checkFeature records a violation unless key names a known feature, which
// it returns.
func checkFeature(v *errs.Violations, field, key string, features map[string]Feature) (Feature, bool) {
	if key == "" {
		v.Add(field, "is required")
		return Feature{}, false
	}
	f, ok := features[key]
	if !ok {
		v.Add(field, "feature %q does not exist", key)
	}
	return f, ok
}

// featureKeys returns the keys of the features the content refers to.
func (c Content) featureKeys() []string {
	var keys []string
	for _, ch := range c.Charges {
		if ch.Usage != nil {
			keys = append(keys, ch.Usage.FeatureKey)
		}
	}
	for _, e := range c.Entitlements {
		keys = append(keys, e.FeatureKey)
	}
	return keys
}

// validate records the violations of a usage charge at field path p.
func (u *UsageCharge) validate(v *errs.Violations, p, currency string, features map[string]Feature) {
	checkFeature(v, p+".feature_key", u.FeatureKey, features)
	checkEnum(v, p+".model", u.Model, PerUnit, Graduated, Volume, PackageFee)
	tiered := u.Model == Graduated || u.Model == Volume
	switch {
	case u.Model == PerUnit && u.UnitPrice == nil:
		v.Add(p+".unit_price", "is required for the per-unit model")
	case u.Model == PerUnit:
		checkUnitPrice(v, p+".unit_price", *u.UnitPrice, currency)
	case tiered:
		validateTiers(v, p+".tiers", currency, u.Tiers)
	case u.Model == PackageFee && u.Package == nil:
		v.Add(p+".package", "is required for the package model")
	case u.Model == PackageFee:
		if !u.Package.Size.IsPositive() {
			v.Add(p+".package.size", "must be greater than 0")
		} else {
			checkQuantity(v, p+".package.size", u.Package.Size)
		}
		checkFee(v, p+".package.price", u.Package.Price, currency)
		if u.Package.FreePackages < 0 || u.Package.FreePackages > 1_000_000 {
			v.Add(p+".package.free_packages", "must be 0 to 1000000")
		}
	}
	if u.UnitPrice != nil && u.Model != PerUnit {
		v.Add(p+".unit_price", "must be empty: it is only for the per-unit model")
	}
	if len(u.Tiers) > 0 && !tiered {
		v.Add(p+".tiers", "must be empty: tiers are only for the graduated and volume models")
	}
	if u.Package != nil && u.Model != PackageFee {
		v.Add(p+".package", "must be empty: it is only for the package model")
	}
}

// validateTiers records the violations of the tiers at field path p: at
// least one tier, up_to ascending and positive on every tier but the last,
// the last open, no negative prices.
func validateTiers(v *errs.Violations, p, currency string, tiers []PriceTier) {
	if len(tiers) == 0 {
		v.Add(p, "at least one tier is required")
		return
	}
	var prev *money.Decimal
	for i, t := range tiers {
		tp := fmt.Sprintf("%s[%d]", p, i)
		last := i == len(tiers)-1
		switch {
		case last && t.UpTo != nil:
			v.Add(tp+".up_to", "must be empty: the last tier is open")
		case t.UpTo == nil:
			if !last {
				v.Add(tp+".up_to", "is required on every tier but the last")
			}
		case !t.UpTo.IsPositive():
			v.Add(tp+".up_to", "must be greater than 0")
		case t.UpTo.GreaterThanOrEqual(decimal.New(1, MaxQuantityIntegerDigits)) || !t.UpTo.Equal(t.UpTo.Round(MaxQuantityFractionDigits)):
			checkQuantity(v, tp+".up_to", *t.UpTo)
		case prev != nil && t.UpTo.Equal(*prev):
			v.Add(tp+".up_to", "overlaps tiers[%d], which also ends at %s", i-1, money.Format(*prev))
		case prev != nil && t.UpTo.LessThan(*prev):
			v.Add(tp+".up_to", "must be greater than the up_to of tiers[%d]: tiers ascend", i-1)
		}
		if t.UpTo != nil {
			prev = t.UpTo
		}
		checkUnitPrice(v, tp+".unit_price", t.UnitPrice, currency)
		checkFee(v, tp+".flat_price", t.FlatPrice, currency)
	}
}

// validate records the violations of a billing interval at field path p.
func (b BillingInterval) validate(v *errs.Violations, p string) {
	checkEnum(v, p+".unit", b.Unit, Day, Week, Month, Quarter, Year)
	months := map[IntervalUnit]int{Month: 1, Quarter: 3, Year: 12}[b.Unit]
	switch {
	case b.Count < 1 || b.Count > MaxIntervalCount:
		v.Add(p+".count", "must be 1 to %d", MaxIntervalCount)
	case months*int(b.Count) > 12*MaxIntervalYears:
		v.Add(p+".count", "must make an interval of at most %d years", MaxIntervalYears)
	}
}

// validateAssignments records the violations of the plan assignments of
// offering offeringKey; prefix is their field path, like "offering.".
func validateAssignments(v *errs.Violations, prefix, offeringKey string, as []PlanAssignment, known Known) {
	type size struct {
		computePlan string
		sla         SLA
	}
	seen := map[size]int{}
	if len(as) > MaxAssignments {
		v.Add(prefix+"assignments", "must be at most %d", MaxAssignments)
	}
	for i, a := range as {
		p := fmt.Sprintf("%sassignments[%d]", prefix, i)
		if a.ComputePlanKey == "" {
			v.Add(p+".compute_plan_key", "is required")
		} else if _, ok := known.ComputePlans[a.ComputePlanKey]; !ok {
			v.Add(p+".compute_plan_key", "compute plan %q does not exist", a.ComputePlanKey)
		}
		checkEnum(v, p+".sla", a.SLA, BestEffort, Guaranteed)
		s := size{a.ComputePlanKey, a.SLA}
		if j, dup := seen[s]; dup {
			v.Add(p, "repeats the compute plan and SLA of assignments[%d]", j)
		} else {
			seen[s] = i
		}
		checkMoney(v, p+".price", a.Price)
		checkEnum(v, p+".price_unit", a.PriceUnit, PerHour, PerDay, PerMonth, PerYear)
		if a.MinimumInstances < 1 || a.MinimumInstances > 1_000_000 {
			v.Add(p+".minimum_instances", "must be 1 to 1000000")
		}
		checkText(v, p+".erp_product_id", a.ERPProductID, MaxNameLength)
		checkText(v, p+".erp_unit_id", a.ERPUnitID, MaxNameLength)
		if a.PlanKey != "" {
			plan, ok := known.Plans[a.PlanKey]
			switch {
			case !ok:
				v.Add(p+".plan_key", "plan %q does not exist", a.PlanKey)
			case plan.OfferingKey != offeringKey:
				v.Add(p+".plan_key", "plan %q is not sold under offering %q", a.PlanKey, offeringKey)
			case plan.Currency != a.Price.Currency:
				v.Add(p+".plan_key", "plan %q bills in %s, not in the price's currency %s", a.PlanKey, plan.Currency, a.Price.Currency)
			}
		}
	}
}
