module github.com/meterplane/meterplane/services/invoice

go 1.26.0

replace github.com/meterplane/meterplane/platform => ../../platform

require (
	github.com/meterplane/meterplane/platform v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
	github.com/signintech/gopdf v0.33.0
	golang.org/x/image v0.47.0
)

require (
	github.com/phpdave11/gofpdi v1.0.14-0.20211212211723-1f10f9844311 // indirect
	github.com/pkg/errors v0.8.1 // indirect
	golang.org/x/text v0.43.0 // indirect
)
