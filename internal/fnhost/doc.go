// Package fnhost plays the Azure Functions host's side of the language-worker
// contract: it finds a worker through its worker.config.json, starts it
// exactly as the v4 host does, and speaks the gRPC protocol to it. Tests,
// cmd/wasmload and the local host (internal/devhost) use it.
//
// Low level: LoadWorkerConfig/FindWorker read worker.config.json
// (docs/host-contract.md §1.2), Listen/Server/Stream are the gRPC endpoint
// and per-worker stream pairing (§1.7, §2.2), CommandLine/StartProcess build
// and start the process (§1.4, §1.5). High level: StartWorker returns a
// Worker that initializes the worker and offers Load, Invoke, Status,
// ReloadEnvironment and Terminate (§2.3–§2.11).
//
// Section numbers (§) in this package refer to docs/host-contract.md.
package fnhost
