// Package protocol holds the .proto files of the Azure Functions host contract
// (v1.10.0); the generated Go code is in the rpc sub-package.
//
// Regenerate with `go generate ./proto` (or `make proto`). It needs protoc
// (Debian: protobuf-compiler), protoc-gen-go and protoc-gen-go-grpc on PATH;
// scripts/install-protoc.sh installs the pinned versions.
package protocol

//go:generate protoc -I . -I /usr/include --go_out=. --go_opt=module=github.com/wasmworker/wasmworker/internal/protocol --go-grpc_out=. --go-grpc_opt=module=github.com/wasmworker/wasmworker/internal/protocol FunctionRpc.proto identity/ClaimsIdentityRpc.proto shared/NullableTypes.proto
