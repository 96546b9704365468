package document

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
)

//go:embed invoice.html.tmpl
var htmlSource string

// htmlPage is parsed once; html/template escapes every value for its context,
// so a customer named "<script>" is shown, never run.
var htmlPage = template.Must(template.New("invoice").Funcs(template.FuncMap{
	"formatDate":   FormatDate,
	"formatPeriod": FormatPeriod,
}).Parse(htmlSource))

// RenderHTML writes d as one printable HTML page with inline CSS.
func RenderHTML(w io.Writer, d Document) error {
	if err := htmlPage.Execute(w, d.cleaned()); err != nil {
		return fmt.Errorf("render invoice HTML: %w", err)
	}
	return nil
}
