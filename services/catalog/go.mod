module github.com/meterplane/meterplane/services/catalog

go 1.26

replace (
	github.com/meterplane/meterplane/gen => ../../gen
	github.com/meterplane/meterplane/platform => ../../platform
)
