package money

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"12.50", "12.5", true},
		{"-3", "-3", true},
		{"0.0004", "0.0004", true},
		{"007.10", "7.1", true},
		{"99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999", true},
		{"", "", false},
		{"1e3", "", false},
		{"+1", "", false},
		{" 1", "", false},
		{"1.", "", false},
		{".5", "", false},
		{"NaN", "", false},
		{"1,5", "", false},
		{"123456789012345678901", "", false},
		{"0.1234567890123456789", "", false},
	} {
		d, err := Parse(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && Format(d) != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, Format(d), tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.50", "-0.0004", "1e9", "", "999999999999999999999", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		// What parses formats back to an equal value that parses again.
		again, err := Parse(Format(d))
		if err != nil || !again.Equal(d) {
			t.Fatalf("Parse(%q) = %s does not round-trip: %v", s, Format(d), err)
		}
	})
}

func TestRoundHalfAwayFromZero(t *testing.T) {
	t.Parallel()
	eur, _ := LookupCurrency("EUR")
	jpy, _ := LookupCurrency("JPY")
	kwd, _ := LookupCurrency("KWD")
	for _, tc := range []struct {
		c        Currency
		in, want string
	}{
		{eur, "0.125", "0.13"},
		{eur, "-0.125", "-0.13"},
		{eur, "0.124999", "0.12"},
		{jpy, "12.5", "13"},
		{kwd, "1.0005", "1.001"},
	} {
		if got := tc.c.FormatAmount(tc.c.Round(MustParse(tc.in))); got != tc.want {
			t.Errorf("%s Round(%s) = %s, want %s", tc.c.Code, tc.in, got, tc.want)
		}
	}
	if _, ok := LookupCurrency("EURO"); ok {
		t.Error("EURO is not an ISO 4217 code")
	}
	if _, ok := LookupCurrency("eur"); ok {
		t.Error("codes are upper case")
	}
}

func TestSplitLosesNoCent(t *testing.T) {
	t.Parallel()
	eur, _ := LookupCurrency("EUR")
	for _, tc := range []struct {
		name    string
		total   string
		weights []string
		want    string
	}{
		{"ten euros in three equal parts: the first part takes the extra cent", "10.00", []string{"1", "1", "1"}, "3.34 3.33 3.33"},
		{"by days of a 31-day month", "31.00", []string{"10", "21"}, "10.00 21.00"},
		{"the largest remainder gets the cent", "1.00", []string{"1", "2"}, "0.33 0.67"},
		{"zero weights give zero parts", "5.00", []string{"0", "0"}, "0.00 0.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w []Decimal
			for _, s := range tc.weights {
				w = append(w, MustParse(s))
			}
			parts := eur.Split(MustParse(tc.total), w)
			var got []string
			for _, p := range parts {
				got = append(got, eur.FormatAmount(p))
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("Split = %v, want %s", got, tc.want)
			}
		})
	}
}

func TestFormatPrice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ amount, currency, want string }{
		{"9", "EUR", "9.00"},
		{"0.1", "EUR", "0.10"},
		{"0.0004", "EUR", "0.0004"},
		{"12.345", "EUR", "12.345"},
		{"1250", "JPY", "1250"},
		{"-3.5", "CHF", "-3.50"},
		{"7", "XXX_NOT_A_CURRENCY", "7"},
	} {
		if got := FormatPrice(MustParse(tc.amount), tc.currency); got != tc.want {
			t.Errorf("FormatPrice(%s, %s) = %s, want %s", tc.amount, tc.currency, got, tc.want)
		}
	}
}
