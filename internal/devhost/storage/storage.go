// Package storage is the storage of the local host (wasmfunc start): the
// queues, blobs and timer schedule status behind queue triggers and outputs,
// blob triggers, inputs and outputs, and timers.
//
// With the app setting AzureWebJobsStorage empty or unset, queues are in
// memory (Memory), blobs are files under <app>/.wasmfunc/blobs (Folder) and
// timer status is in memory (MemorySchedules). With UseDevelopmentStorage=true
// (Azurite) or a storage connection string, all three live in that account
// through the Azure SDK for Go (AzureQueues, AzureBlobs, BlobSchedules),
// where the Functions host keeps them too. Either way the host's code sees
// the same interfaces: Queues, Blobs and ScheduleStore.
package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// ConnectionSetting is the app setting that selects the storage.
const ConnectionSetting = "AzureWebJobsStorage"

// BindingTypes are the function.json binding types that this package lets the
// local host emulate, in the case the Functions docs write them:
// queueTrigger (in), queue (out), blobTrigger (in) and blob (in and out).
// Supports tells which directions.
var BindingTypes = []string{"queueTrigger", "queue", "blobTrigger", "blob"}

// Supports reports whether a binding of type typ (any case) and direction
// dir ("in", "out" or "inout") is emulated: queue triggers, queue outputs,
// blob triggers, blob inputs and blob outputs.
func Supports(typ, dir string) bool {
	switch strings.ToLower(typ) {
	case "queuetrigger", "blobtrigger":
		return dir == "in"
	case "queue":
		return dir == "out"
	case "blob":
		return dir == "in" || dir == "out"
	}
	return false
}

// IsStorageType reports whether typ (any case) is one of BindingTypes.
func IsStorageType(typ string) bool {
	return slices.ContainsFunc(BindingTypes, func(t string) bool { return strings.EqualFold(t, typ) })
}

// Kinds of Backend.
const (
	KindMemory = "memory"
	KindAzure  = "azure"
)

// Config says which storage to open.
type Config struct {
	// Connection is the value of AzureWebJobsStorage ("" selects memory).
	Connection string
	// AppDir is the function app's folder (the folder backend lives in it).
	AppDir string
	// HostID names the host in blob receipts and timer status (HostID).
	HostID string
	// MessageEncoding is host.json extensions.queues.messageEncoding
	// (EncodingBase64 when empty); it applies to Azure Storage queues.
	MessageEncoding string
	// Memory and Schedules are the in-memory queues and timer status that
	// the host keeps across reloads (used without a connection).
	Memory    *Memory
	Schedules *MemorySchedules
	// Warn receives notices about messages (nil discards them).
	Warn func(format string, args ...any)
}

// Backend is the storage of one load of the app.
type Backend struct {
	// Kind is KindMemory or KindAzure.
	Kind string
	// Account is the storage account (KindAzure only).
	Account   Account
	Queues    Queues
	Blobs     Blobs
	Schedules ScheduleStore
	// HostID names the host in blob receipts and timer status.
	HostID string
	// Folder is the folder of blobs (KindMemory only).
	Folder string
}

// Open returns the backend cfg selects. It does not contact the account;
// Check does.
func Open(cfg Config) (*Backend, error) {
	if strings.TrimSpace(cfg.Connection) == "" {
		if cfg.Memory == nil || cfg.Schedules == nil {
			return nil, errors.New("storage.Open: the in-memory queues and schedules are required")
		}
		f := FolderFor(cfg.AppDir)
		return &Backend{Kind: KindMemory, Queues: cfg.Memory, Blobs: f, Schedules: cfg.Schedules, HostID: cfg.HostID, Folder: f.Root}, nil
	}
	a, err := ParseConnectionString(cfg.Connection)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ConnectionSetting, err)
	}
	enc := strings.ToLower(strings.TrimSpace(cfg.MessageEncoding))
	switch enc {
	case "":
		enc = EncodingBase64
	case EncodingBase64, EncodingNone:
	default:
		return nil, fmt.Errorf("host.json extensions.queues.messageEncoding must be \"base64\" or \"none\", not %q", cfg.MessageEncoding)
	}
	q, err := NewAzureQueues(a, enc, cfg.Warn)
	if err != nil {
		return nil, err
	}
	b, err := NewAzureBlobs(a)
	if err != nil {
		return nil, err
	}
	return &Backend{Kind: KindAzure, Account: a, Queues: q, Blobs: b,
		Schedules: &BlobSchedules{Blobs: b, HostID: cfg.HostID}, HostID: cfg.HostID}, nil
}

// String describes the backend for the start banner.
func (b *Backend) String() string {
	if b.Kind == KindMemory {
		return "queues in memory, blobs in " + b.Folder + " (" + ConnectionSetting + " is not set)"
	}
	return "Azure Storage, " + b.Account.String()
}

// Check contacts the account's queue and blob services (a backend in
// memory needs nothing) and explains a failure: for an account on this
// machine, that Azurite must be running and how to start it.
func (b *Backend) Check(ctx context.Context) error {
	if b.Kind != KindAzure {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	q := b.Queues.(*AzureQueues)
	qp := q.svc.NewListQueuesPager(&azqueue.ListQueuesOptions{MaxResults: to.Ptr(int32(1))})
	_, err := qp.NextPage(ctx)
	endpoint := b.Account.QueueEndpoint
	if err == nil {
		bp := b.Blobs.(*AzureBlobs).c.NewListContainersPager(&azblob.ListContainersOptions{MaxResults: to.Ptr(int32(1))})
		_, err = bp.NextPage(ctx)
		endpoint = b.Account.BlobEndpoint
	}
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: the storage service at %s refused the request (%d %s); check the account name and key", ConnectionSetting, endpoint, re.StatusCode, re.ErrorCode)
	}
	if b.Account.Local() {
		what := "UseDevelopmentStorage=true"
		if !b.Account.Development {
			what = "a connection string for this machine"
		}
		return fmt.Errorf("%s is %s, but Azurite (the Azure Storage emulator) does not answer at %s: %v\n"+
			"Start Azurite first, e.g. `npx azurite --silent --location .azurite` (or scripts/start-azurite.sh in the wasmworker repository), "+
			"or remove %s from local.settings.json to use wasmfunc's in-memory queues and blob folder",
			ConnectionSetting, what, endpoint, err, ConnectionSetting)
	}
	return fmt.Errorf("%s: the storage account does not answer at %s: %w", ConnectionSetting, endpoint, err)
}

// clientOptions are the Azure SDK options of both services: a few quick
// retries, since the account is usually on this machine.
func clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: time.Minute},
		Telemetry: policy.TelemetryOptions{ApplicationID: "wasmfunc"},
	}
}
