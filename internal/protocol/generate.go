// Package protocol holds the .proto files of the Azure Functions host contract
// (v1.10.0); the generated Go code is in the rpc sub-package.
//
// Regenerate with `go generate ./internal/protocol` (or `make proto`). It needs protoc
// (Debian: protobuf-compiler), protoc-gen-go, protoc-gen-go-grpc and
// protoc-gen-go-vtproto (the decoders and encoders internal/protocol/wire uses) on PATH;
// scripts/install-protoc.sh installs the pinned versions.
package protocol

//go:generate protoc -I . -I /usr/include --go_out=. --go_opt=module=github.com/wasmworker/wasmworker/internal/protocol --go-grpc_out=. --go-grpc_opt=module=github.com/wasmworker/wasmworker/internal/protocol --go-vtproto_out=. --go-vtproto_opt=module=github.com/wasmworker/wasmworker/internal/protocol,features=unmarshal_unsafe+marshal+size FunctionRpc.proto identity/ClaimsIdentityRpc.proto shared/NullableTypes.proto
