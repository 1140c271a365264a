# Everything here is also a plain go command; see README.md.
WORKER_DIR ?= dist/workers/wasm

.PHONY: worker examples test proto vet

# worker: a ready workers/wasm folder for a Functions host (binary + worker.config.json).
# -tags grpcnotrace: see devhost.WorkerBuildTags (internal/devhost/workers.go).
worker:
	mkdir -p $(WORKER_DIR)
	CGO_ENABLED=0 go build -trimpath -tags grpcnotrace -o $(WORKER_DIR)/wasmworker ./cmd/wasmworker
	cp cmd/wasmworker/worker.config.json $(WORKER_DIR)/worker.config.json

# examples: build the Go functions of the example app in place.
examples:
	go run ./cmd/wasmbuild examples-wasm/app

test:
	go test ./...

vet:
	go vet ./...

# proto: regenerate internal/protocol/rpc from the .proto files (needs scripts/install-protoc.sh).
proto:
	go generate ./internal/protocol
