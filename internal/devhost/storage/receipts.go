package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// BlobScan finds the new and changed blobs of one blob-triggered function
// and remembers the ones it has processed with blob receipts, as the host's
// blob trigger does: an empty blob
// blobreceipts/<hostId>/Host.Functions.<function>/<etag>/<container>/<name>
// in container azure-webjobs-hosts. A blob whose content changes gets a new
// ETag and so triggers again; receipts outlive the process (in the account,
// or in the folder backend's azure-webjobs-hosts folder), so a restart
// does not run the function again for blobs it has already seen.
type BlobScan struct {
	Blobs    Blobs
	Path     *TriggerPath
	HostID   string
	Function string

	mu     sync.Mutex
	done   map[string]bool // receipt keys (etag, container/name)
	loaded bool
}

func (s *BlobScan) receiptPrefix() string {
	return "blobreceipts/" + s.HostID + "/Host.Functions." + s.Function + "/"
}

// ReceiptName is the name (in azure-webjobs-hosts) of b's receipt.
func (s *BlobScan) ReceiptName(b BlobInfo) string {
	return s.receiptPrefix() + b.ETag + "/" + b.Container + "/" + b.Name
}

func receiptKey(etag, path string) string { return etag + "\x00" + path }

// load reads the receipts written so far.
func (s *BlobScan) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	receipts, err := s.Blobs.List(ctx, HostsContainer, s.receiptPrefix())
	if err != nil {
		return fmt.Errorf("reading the blob receipts of %s: %w", s.Function, err)
	}
	s.done = map[string]bool{}
	for _, r := range receipts {
		etag, path, ok := strings.Cut(strings.TrimPrefix(r.Name, s.receiptPrefix()), "/")
		if ok {
			s.done[receiptKey(etag, path)] = true
		}
	}
	s.loaded = true
	return nil
}

// Pending lists the blobs of the trigger's container that match its path
// and have no receipt, oldest first, with the values of the path's
// parameters.
func (s *BlobScan) Pending(ctx context.Context) ([]PendingBlob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	blobs, err := s.Blobs.List(ctx, s.Path.Container, s.Path.Prefix)
	if err != nil {
		return nil, err
	}
	var out []PendingBlob
	for _, b := range blobs {
		params, ok := s.Path.Match(b.Name)
		if !ok || s.done[receiptKey(b.ETag, b.Path())] {
			continue
		}
		out = append(out, PendingBlob{Info: b, Params: params})
	}
	// Oldest first, as a scan by last-modified time finds them.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Info.LastModified.Before(out[j].Info.LastModified) })
	return out, nil
}

// PendingBlob is a blob to run the function for.
type PendingBlob struct {
	Info BlobInfo
	// Params holds the values of the trigger path's {parameters}.
	Params map[string]string
}

// Complete writes b's receipt, so that the function does not run for this
// version of the blob again.
func (s *BlobScan) Complete(ctx context.Context, b BlobInfo) error {
	if _, err := s.Blobs.Write(ctx, HostsContainer, s.ReceiptName(b), nil); err != nil {
		return fmt.Errorf("writing the blob receipt of %s for %s: %w", s.Function, b.Path(), err)
	}
	s.mu.Lock()
	if s.done == nil {
		s.done = map[string]bool{}
	}
	s.done[receiptKey(b.ETag, b.Path())] = true
	s.mu.Unlock()
	return nil
}
