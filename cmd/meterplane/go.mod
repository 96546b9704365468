module github.com/meterplane/meterplane/cmd/meterplane

go 1.26

replace (
	github.com/meterplane/meterplane/gen => ../../gen
	github.com/meterplane/meterplane/platform => ../../platform
	github.com/meterplane/meterplane/services/catalog => ../../services/catalog
)
