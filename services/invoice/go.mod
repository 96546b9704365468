module github.com/meterplane/meterplane/services/invoice

go 1.26.0

replace (
	github.com/meterplane/meterplane/gen => ../../gen
	github.com/meterplane/meterplane/platform => ../../platform
	github.com/meterplane/meterplane/services/catalog => ../catalog
	github.com/meterplane/meterplane/services/metering => ../metering
	github.com/meterplane/meterplane/services/subscription => ../subscription
)

require (
	github.com/meterplane/meterplane/gen v0.0.0-00010101000000-000000000000
	github.com/meterplane/meterplane/platform v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
	github.com/signintech/gopdf v0.33.0
	golang.org/x/image v0.47.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.32.0 // indirect
	github.com/phpdave11/gofpdi v1.0.14-0.20211212211723-1f10f9844311 // indirect
	github.com/pkg/errors v0.8.1 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261012220534-4341edf3f941 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261005182115-fad411399dd8 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
