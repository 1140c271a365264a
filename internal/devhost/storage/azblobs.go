package storage

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// AzureBlobs is the blob service of an Azure Storage account (or Azurite).
type AzureBlobs struct {
	c       *azblob.Client
	written signals

	mu     sync.Mutex
	exists map[string]bool // containers this process created or found
}

var _ Blobs = (*AzureBlobs)(nil)

// NewAzureBlobs returns the blob service of account a.
func NewAzureBlobs(a Account) (*AzureBlobs, error) {
	c, err := azblob.NewClientFromConnectionString(a.conn, &azblob.ClientOptions{ClientOptions: clientOptions()})
	if err != nil {
		return nil, fmt.Errorf("blob service client for %s: %w", a, err)
	}
	return &AzureBlobs{c: c, exists: map[string]bool{}}, nil
}

func (b *AzureBlobs) url(container, name string) string {
	return b.c.ServiceClient().NewContainerClient(container).NewBlobClient(name).URL()
}

// etag is an ETag without the quotes of its HTTP header form, so that a
// blob's ETag reads the same from a listing (unquoted) and from a header.
func etag(e *azcore.ETag) string {
	if e == nil {
		return ""
	}
	return strings.Trim(string(*e), `"`)
}

func metadata(m map[string]*string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// Read implements Blobs.
func (b *AzureBlobs) Read(ctx context.Context, container, name string) ([]byte, BlobInfo, error) {
	resp, err := b.c.DownloadStream(ctx, container, name, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, BlobInfo{}, fmt.Errorf("%s/%s: %w", container, name, ErrBlobNotFound)
	}
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("reading blob %s/%s: %w", container, name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("reading blob %s/%s: %w", container, name, err)
	}
	info := BlobInfo{
		Container:          container,
		Name:               name,
		URL:                b.url(container, name),
		ETag:               etag(resp.ETag),
		LastModified:       derefTime(resp.LastModified),
		CreatedOn:          derefTime(resp.CreationTime),
		ContentLength:      int64(len(data)),
		ContentType:        deref(resp.ContentType),
		ContentEncoding:    deref(resp.ContentEncoding),
		ContentLanguage:    deref(resp.ContentLanguage),
		ContentDisposition: deref(resp.ContentDisposition),
		CacheControl:       deref(resp.CacheControl),
		ContentMD5:         resp.ContentMD5,
		Metadata:           metadata(resp.Metadata),
	}
	return data, info, nil
}

// ensure creates a container once per process.
func (b *AzureBlobs) ensure(ctx context.Context, container string) error {
	b.mu.Lock()
	ok := b.exists[container]
	b.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := b.c.CreateContainer(ctx, container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("creating container %s: %w", container, err)
	}
	b.mu.Lock()
	b.exists[container] = true
	b.mu.Unlock()
	return nil
}

// Write implements Blobs.
func (b *AzureBlobs) Write(ctx context.Context, container, name string, data []byte) (BlobInfo, error) {
	if err := ValidateContainer(container); err != nil {
		return BlobInfo{}, err
	}
	if err := b.ensure(ctx, container); err != nil {
		return BlobInfo{}, err
	}
	resp, err := b.c.UploadBuffer(ctx, container, name, data, nil)
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		// Deleted since this process created it.
		b.mu.Lock()
		delete(b.exists, container)
		b.mu.Unlock()
		if err := b.ensure(ctx, container); err != nil {
			return BlobInfo{}, err
		}
		resp, err = b.c.UploadBuffer(ctx, container, name, data, nil)
	}
	if err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	b.written.notify(container)
	return BlobInfo{
		Container:     container,
		Name:          name,
		URL:           b.url(container, name),
		ETag:          etag(resp.ETag),
		LastModified:  derefTime(resp.LastModified),
		CreatedOn:     derefTime(resp.LastModified),
		ContentLength: int64(len(data)),
		ContentType:   "application/octet-stream",
		ContentMD5:    resp.ContentMD5,
		Metadata:      map[string]string{},
	}, nil
}

// Changed implements Blobs.
func (b *AzureBlobs) Changed(container string) <-chan struct{} { return b.written.wait(container) }

// List implements Blobs.
func (b *AzureBlobs) List(ctx context.Context, container, prefix string) ([]BlobInfo, error) {
	opts := &azblob.ListBlobsFlatOptions{Include: azblob.ListBlobsInclude{Metadata: true}}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	var out []BlobInfo
	pager := b.c.NewListBlobsFlatPager(container, opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing blobs of %s: %w", container, err)
		}
		if page.Segment == nil {
			continue
		}
		for _, it := range page.Segment.BlobItems {
			if it == nil || it.Name == nil {
				continue
			}
			info := BlobInfo{Container: container, Name: *it.Name, URL: b.url(container, *it.Name), Metadata: metadata(it.Metadata)}
			if p := it.Properties; p != nil {
				info.ETag = etag(p.ETag)
				info.LastModified = derefTime(p.LastModified)
				info.CreatedOn = derefTime(p.CreationTime)
				if p.ContentLength != nil {
					info.ContentLength = *p.ContentLength
				}
				info.ContentType = deref(p.ContentType)
				info.ContentEncoding = deref(p.ContentEncoding)
				info.ContentLanguage = deref(p.ContentLanguage)
				info.ContentDisposition = deref(p.ContentDisposition)
				info.CacheControl = deref(p.CacheControl)
				info.ContentMD5 = p.ContentMD5
			}
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
