// Package invoice will assemble the invoice service: billing runs, invoices
// and their documents. Its domain is built package by package under
// internal/; see docs/architecture.md ("Invoice").
package invoice
