// Package money holds Meterplane's decimal arithmetic: parsing decimal
// strings strictly, ISO 4217 currencies with their minor units, rounding to a
// currency once and explicitly, and splitting amounts without losing a cent.
// Nothing here uses floating point.
package money

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// Decimal is the exact decimal type used for every amount and quantity.
type Decimal = decimal.Decimal

// Zero is the decimal 0.
var Zero = decimal.Zero

// MaxDigits bounds the digits of an accepted decimal string so that a
// hostile input cannot make arithmetic arbitrarily slow. NUMERIC(38, 18) holds
// every accepted value.
const (
	MaxIntegerDigits  = 20
	MaxFractionDigits = 18
)

var decimalPattern = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Parse reads a plain decimal string such as "12.50", "-3" or "0.0004".
// Exponents, signs other than a leading minus, blanks, NaN and infinities
// are refused, and so are values with more than MaxIntegerDigits integer
// digits or MaxFractionDigits fraction digits.
func Parse(s string) (Decimal, error) {
	if !decimalPattern.MatchString(s) {
		return Zero, fmt.Errorf("%q is not a decimal number", s)
	}
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(strings.TrimLeft(intPart, "0")) > MaxIntegerDigits {
		return Zero, fmt.Errorf("%q has more than %d integer digits", s, MaxIntegerDigits)
	}
	if len(frac) > MaxFractionDigits {
		return Zero, fmt.Errorf("%q has more than %d fraction digits", s, MaxFractionDigits)
	}
	return decimal.RequireFromString(s), nil
}

// MustParse is Parse for constants in code and tests; it panics on bad input.
func MustParse(s string) Decimal {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Format writes d as a plain decimal string without exponent and without
// trailing fraction zeros ("12.5", "3", "0.0004").
func Format(d Decimal) string { return d.String() }

// Currency is an ISO 4217 currency code with its minor unit.
type Currency struct {
	Code  string
	Minor int32 // digits after the decimal point of the minor unit
}

// LookupCurrency returns the ISO 4217 currency for code (upper case), and
// false if code is not an active ISO 4217 code.
func LookupCurrency(code string) (Currency, bool) {
	minor, ok := currencies[code]
	return Currency{Code: code, Minor: minor}, ok
}

// Round rounds amount to the currency's minor unit, half away from zero.
// Invoices round each line once with it.
func (c Currency) Round(amount Decimal) Decimal { return amount.Round(c.Minor) }

// FormatAmount writes amount with exactly the currency's minor digits
// ("12.50" for EUR, "1250" for JPY). It does not round: callers round first.
func (c Currency) FormatAmount(amount Decimal) string { return amount.StringFixed(c.Minor) }

// FormatPrice writes a price with at least the currency's minor digits
// ("9.00", "0.10" for EUR) and any further digits it has ("0.0004"): how
// money leaves the API. It does not round. An unknown currency leaves the
// amount as Format writes it.
func FormatPrice(amount Decimal, currency string) string {
	s := Format(amount)
	c, ok := LookupCurrency(currency)
	if !ok {
		return s
	}
	if _, frac, _ := strings.Cut(s, "."); int32(len(frac)) < c.Minor {
		return amount.StringFixed(c.Minor)
	}
	return s
}

// Split divides total, already rounded to the currency, into parts in
// proportion to weights, so that the parts are in minor units and add up to
// total exactly. Remainders go to the parts with the largest fractional
// remainder, ties to the earlier part.
func (c Currency) Split(total Decimal, weights []Decimal) []Decimal {
	parts := make([]Decimal, len(weights))
	sum := Zero
	for _, w := range weights {
		sum = sum.Add(w)
	}
	if sum.IsZero() {
		for i := range parts {
			parts[i] = Zero
		}
		return parts
	}
	unit := decimal.New(1, -c.Minor)
	units := total.Div(unit).IntPart() // total in minor units
	rem := make([]Decimal, len(weights))
	var given int64
	for i, w := range weights {
		exact := decimal.NewFromInt(units).Mul(w).DivRound(sum, 20)
		whole := exact.Floor()
		parts[i] = whole
		rem[i] = exact.Sub(whole)
		given += whole.IntPart()
	}
	for left := units - given; left > 0; left-- {
		best := -1
		for i := range rem {
			if best < 0 || rem[i].GreaterThan(rem[best]) {
				best = i
			}
		}
		parts[best] = parts[best].Add(decimal.NewFromInt(1))
		rem[best] = decimal.NewFromInt(-1)
	}
	for i := range parts {
		parts[i] = parts[i].Mul(unit)
	}
	return parts
}

// currencies maps each active ISO 4217 code to its minor unit digits.
var currencies = func() map[string]int32 {
	m := map[string]int32{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB
		BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP
		ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS
		KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
		MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD
		SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
		VES WST XCD XCG YER ZAR ZMW ZWG`) {
		m[c] = 2
	}
	for _, c := range strings.Fields(`BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF`) {
		m[c] = 0
	}
	for _, c := range strings.Fields(`BHD IQD JOD KWD LYD OMR TND`) {
		m[c] = 3
	}
	for _, c := range strings.Fields(`CLF UYW`) {
		m[c] = 4
	}
	return m
}()
