module github.com/meterplane/meterplane/services/invoice

go 1.26.0
