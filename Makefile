# Meterplane: one Makefile for the whole workspace.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

MODULES  := gen platform services/catalog cmd/meterplane
SERVICES := catalog
BIN      := $(CURDIR)/bin
BUF      := $(BIN)/buf

.PHONY: run demo test generate check-generate lint breaking tools build build-modules bench

## run: start every service and the gateway in one process (embedded defaults)
run:
	go run ./cmd/meterplane

## demo: like run, with a demo catalog seeded
demo:
	go run ./cmd/meterplane --demo

## test: every module's tests, against real PostgreSQL and Redis
test:
	go test -count=1 work

## tools: build the pinned code generators into ./bin (versions in tools/go.mod)
tools: $(BUF)
$(BUF): tools/go.mod tools/go.sum
	cd tools && GOWORK=off GOBIN=$(BIN) go install tool

## generate: regenerate gen/ from proto/ with the pinned local plugins
generate: tools
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

## lint: buf lint and go vet
lint: tools
	$(BUF) lint
	$(BUF) format --diff --exit-code
	go vet work

## breaking: no breaking proto change against BREAKING_AGAINST (default: the previous commit)
BREAKING_AGAINST ?= .git\#ref=HEAD~1
breaking: tools
	if git rev-parse -q --verify HEAD~1 >/dev/null; then $(BUF) breaking --against '$(BREAKING_AGAINST)'; fi

## build-modules: every module builds on its own (GOWORK=off)
build-modules:
	for m in $(MODULES); do (cd $$m && GOWORK=off go build ./...) || exit 1; done

build:
	go build -o $(BIN)/meterplane ./cmd/meterplane

## bench: the benchmarks behind docs/benchmarks.md
bench:
	go test -run '^$$' -bench . -benchmem work
