// Package host plays the Azure Functions host's side of the language-worker
// contract: it finds a worker through its worker.config.json, starts it
// exactly as the v4 host does, and speaks the gRPC protocol to it.
//
// Section numbers (§) in comments refer to /work/shared/protocol.md.
package host

//
// Low level: LoadWorkerConfig/FindWorker read worker.config.json (§1.2),
// Listen/Server/Stream are the gRPC endpoint and per-worker stream pairing
// (§1.7, §2.2), CommandLine/StartProcess build and start the process (§1.4,
// §1.5). High level: StartWorker returns a Worker that initializes the
// worker and offers Load, Invoke, Status, ReloadEnvironment and Terminate
// (§2.3–§2.11).
