package catalog

import (
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
)

// PageRequest asks for one page of a list ordered by key.
type PageRequest = page.Request

// Page is one page of a list.
type Page[T any] = page.Page[T]

// checkPage records the violations of the page request: catalog lists are
// ordered by key, so a token must hold one.
func checkPage(p PageRequest, v *errs.Violations) {
	p.Check(v)
	if after, _ := p.Cursor(); after != "" && !slugKey.MatchString(after) {
		v.Add("page_token", "is not a token returned by this list")
	}
}

// validatePage checks the page size and token.
func validatePage(p PageRequest) error {
	var v errs.Violations
	checkPage(p, &v)
	return v.Err()
}
