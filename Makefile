# Meterplane: one Makefile for the whole workspace.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

MODULES  := gen platform services/catalog services/subscription services/metering services/quota services/invoice cmd/meterplane cmd/gateway bench deploy
SERVICES := catalog subscription metering quota invoice
BIN      := $(CURDIR)/bin
BUF      := $(BIN)/buf

.PHONY: run demo test redis-cluster images helm-check generate check-generate lint breaking release-api tools build build-modules bench bench-subscription bench-metering-ingest bench-metering-ingest-sqlite bench-metering-query bench-quota bench-quota-check bench-quota-reserve bench-soak bench-invoice-run bench-invoice

## run: start every service and the gateway in one process (embedded defaults)
run:
	go run ./cmd/meterplane

## demo: like run, with a demo catalog seeded
demo:
	go run ./cmd/meterplane --demo

## test: every module's tests, with the race detector and in shuffled order, against real PostgreSQL, Redis and a Redis Cluster
test: redis-cluster
	go test -race -shuffle=on -count=1 -timeout 20m work

## redis-cluster: start the tests' three-master Redis Cluster on 127.0.0.1:7001-7003 unless it answers (needs redis-server)
redis-cluster:
	.ci/redis-cluster

## images: build every image (static binaries on an empty base, non-root) as OCI layouts in out/images/, without a container daemon; VERSION=v1.2.3 tags them
images:
	go run ./deploy/images $(if $(VERSION),-version $(VERSION))

## helm-check: lint the Helm chart with both value files, render it, and decode every object strictly against the Kubernetes API types (the pinned helm, offline)
helm-check: $(BIN)/helm
	HELM=$(BIN)/helm go test -count=1 ./deploy/helmcheck/
$(BIN)/helm: tools/go.mod tools/go.sum
	cd tools && GOWORK=off GOBIN=$(BIN) go install helm.sh/helm/v4/cmd/helm

# The pinned tools that generate, lint and check (versions in tools/go.mod);
# grpcurl is built by `make tools` only, since no check needs it.
CHECK_TOOLS := github.com/bufbuild/buf/cmd/buf google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 honnef.co/go/tools/cmd/staticcheck

## tools: build every pinned tool into ./bin: buf, the code generators, staticcheck and grpcurl (versions in tools/go.mod)
tools: $(BUF)
	cd tools && GOWORK=off GOBIN=$(BIN) go install tool
$(BUF): tools/go.mod tools/go.sum
	cd tools && GOWORK=off GOBIN=$(BIN) go install $(CHECK_TOOLS)

## generate: regenerate gen/ from proto/ with the pinned local plugins
generate: $(BUF)
	$(BUF) format -w
	find gen -name '*.pb.go' -delete -o -name '*.pb.gw.go' -delete
	rm -rf gen/openapi && mkdir -p gen/openapi
	PATH="$(BIN):$$PATH" $(BUF) generate
	$(BUF) build -o gen/descriptors.binpb
	for svc in $(SERVICES); do \
	  PATH="$(BIN):$$PATH" $(BUF) generate --path proto/meterplane/$$svc --template \
	    '{"version":"v2","plugins":[{"local":"protoc-gen-grpc-gateway","out":"gen","opt":["paths=source_relative","grpc_api_configuration=proto/meterplane/'$$svc'/v1/'$$svc'.http.yaml"]},{"local":"protoc-gen-openapiv2","out":"gen/openapi","opt":["grpc_api_configuration=proto/meterplane/'$$svc'/v1/'$$svc'.http.yaml","allow_merge=true","merge_file_name='$$svc'","json_names_for_fields=true","disable_default_errors=false"]}]}'; \
	done

## check-generate: fail if gen/ is not what the protos generate
check-generate: generate
	git add -N gen && git diff --exit-code -- gen proto

## lint: buf lint, buf format, gofmt, go vet, staticcheck, and tidy go.mod files
lint: $(BUF)
	$(BUF) lint
	$(BUF) format --diff --exit-code
	test -z "$$(gofmt -l $(MODULES))" || { gofmt -l $(MODULES); exit 1; }
	go vet work
	$(BIN)/staticcheck work
	for m in $(MODULES) tools; do (cd $$m && GOWORK=off go mod tidy -diff) || { echo "go mod tidy needed in $$m"; exit 1; }; done

## breaking: no breaking proto change against the released API (the image committed in api/released.binpb)
breaking: $(BUF)
	$(BUF) breaking --against api/released.binpb

## release-api: record the current protos as the released API that `breaking` guards (run when cutting a release)
release-api: $(BUF)
	$(BUF) build -o api/released.binpb

## redoc: refresh the API reference renderer that /docs embeds (platform/apidocs/redoc: Redoc's standalone bundle and its licenses) with npm, at the version package.json and package-lock.json record; to upgrade, change the version in package.json first
.PHONY: redoc
redoc:
	cd platform/apidocs/redoc && npm install && \
	  cp node_modules/redoc/bundles/redoc.standalone.js node_modules/redoc/bundles/redoc.standalone.js.LICENSE.txt . && \
	  cp node_modules/redoc/LICENSE LICENSE && rm -rf node_modules

## build-modules: every module builds on its own (GOWORK=off)
build-modules:
	for m in $(MODULES); do (cd $$m && GOWORK=off go build ./...) || exit 1; done

build:
	go build -o $(BIN)/meterplane ./cmd/meterplane

## bench: the benchmarks behind docs/benchmarks.md
bench:
	go test -run '^$$' -bench . -benchmem work

## bench-subscription: GetEntitlements over gRPC with 100,000 customers in PostgreSQL
bench-subscription:
	cd services/subscription && go test -run '^$$' -bench BenchmarkGetEntitlements -benchtime 20000x -count 3 .

## bench-metering-ingest: IngestBatch over gRPC (1,000-event batches; 1, 2 and 4 clients) against COPY of the same rows into the events and their keys (the reference) and into the events alone; three interleaved rounds
bench-metering-ingest:
	cd services/metering && go test -c -o $(BIN)/metering.test . && for round in 1 2 3; do \
	  $(BIN)/metering.test -test.run '^$$' -test.bench '^(BenchmarkIngestBatch|BenchmarkCopyExactlyOnce|BenchmarkCopyEvents)$$' -test.benchtime 10s -test.timeout 30m; \
	done

## bench-metering-ingest-sqlite: IngestBatch over gRPC into the embedded default (SQLite), one client
bench-metering-ingest-sqlite:
	cd services/metering && go test -run '^$$' -bench '^BenchmarkIngestBatchSQLite$$' -benchtime 10s -count 3 -timeout 30m .

## bench-metering-query: QueryUsage over gRPC with 10 million events (1,000 customers, one month) in PostgreSQL; seeds for about 3 minutes first
bench-metering-query:
	cd services/metering && go test -run '^$$' -bench '^BenchmarkQueryUsage$$' -benchtime 5000x -count 3 -timeout 60m .

## bench-invoice: whole billing runs (2,000 and 10,000 customers; drafts, then finalizing) and PreviewInvoice, with the real catalog, subscription, metering and invoice services on PostgreSQL
bench-invoice:
	cd services/invoice && go test -run '^$$' -bench '^BenchmarkRunBilling$$' -benchtime 1x -timeout 30m . && \
		go test -run '^$$' -bench '^BenchmarkPreviewInvoice$$' -benchtime 5000x -timeout 30m .

## bench-invoice-run: one billing run of 10,000 customers on PostgreSQL, the domain and store side (sources faked)
bench-invoice-run:
	cd services/invoice && BENCH_CUSTOMERS=10000 go test -run '^$$' -bench '^BenchmarkRunBilling$$' -benchtime 1x -count 3 -benchmem ./internal/invoice/

## bench-quota: both quota figures side by side with their references (bench/quota.sh; about 3 minutes): needs PostgreSQL, Redis and pgbench
bench-quota:
	BIN=$(BIN) bench/quota.sh all

## bench-quota-check: CheckQuota over gRPC, 32 callers, against the health Check of a bare grpc-go server, in alternating rounds
bench-quota-check:
	BIN=$(BIN) bench/quota.sh check

## bench-quota-reserve: Reserve + Commit pairs, 16 callers, against pgbench's single-row INSERT transactions at 16 clients, alternating
bench-quota-reserve:
	BIN=$(BIN) bench/quota.sh reserve

## bench-soak: DURATION (default 10m) of mixed load on the all-in-one binary, then on the five services as separate processes: errors, RSS over time, p99 per RPC (bench/soak.sh)
bench-soak:
	BIN=$(BIN) bench/soak.sh
