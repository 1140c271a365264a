module github.com/wasmworker/wasmworker/abi/sdk/go

go 1.26
