// Package apidocs serves the human API reference at /docs: a page that
// renders the server's /openapi.json with Redoc's standalone bundle, which
// is vendored in redoc/ (with its license and the npm lock recording the
// exact version; `make redoc` refreshes it) and embedded in the binary,
// so that the page needs no network but the server's.
package apidocs

import (
	_ "embed"
	"net/http"
)

var (
	//go:embed index.html
	page []byte
	//go:embed redoc/redoc.standalone.js
	redoc []byte
)

// Register serves the page at GET /docs and the renderer at GET
// /docs/redoc.standalone.js on mux. The page loads the document from
// openapi.json beside it.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", serve("text/html; charset=utf-8", page))
	mux.HandleFunc("GET /docs/redoc.standalone.js", serve("text/javascript; charset=utf-8", redoc))
}

func serve(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	}
}
