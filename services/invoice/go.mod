module github.com/meterplane/meterplane/services/invoice

go 1.26.0

replace github.com/meterplane/meterplane/platform => ../../platform

require (
	github.com/meterplane/meterplane/platform v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
)
