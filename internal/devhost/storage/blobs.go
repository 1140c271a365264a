package storage

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrBlobNotFound is returned by Blobs.Read for a blob or container that
// does not exist.
var ErrBlobNotFound = errors.New("blob not found")

// BlobInfo describes a blob: where it is and its system properties and
// metadata.
type BlobInfo struct {
	Container, Name string
	// URL is the blob's address (a file:// URL in the folder backend).
	URL string
	// ETag changes whenever the blob is written.
	ETag          string
	LastModified  time.Time
	CreatedOn     time.Time
	ContentLength int64
	ContentType   string
	// ContentEncoding, ContentLanguage, ContentDisposition and CacheControl
	// are the blob's standard HTTP properties ("" when unset).
	ContentEncoding, ContentLanguage, ContentDisposition, CacheControl string
	ContentMD5                                                         []byte
	Metadata                                                           map[string]string
}

// Path is "<container>/<name>", the BlobTrigger value of the host.
func (b BlobInfo) Path() string { return b.Container + "/" + b.Name }

// Blobs is a blob service: a folder on disk (Folder) or an Azure Storage
// account (Azure). Blob triggers, blob inputs and outputs, blob receipts
// and timer schedule status use only this interface.
type Blobs interface {
	// Read returns a blob's content and properties, or ErrBlobNotFound.
	Read(ctx context.Context, container, name string) ([]byte, BlobInfo, error)
	// Write creates or replaces a block blob (and its container).
	Write(ctx context.Context, container, name string, data []byte) (BlobInfo, error)
	// List returns the blobs of container whose names start with prefix,
	// sorted by name; a container that does not exist has none.
	List(ctx context.Context, container, prefix string) ([]BlobInfo, error)
	// Changed returns a channel that is closed the next time this process
	// writes a blob into container, as the host's blob-written watcher
	// wakes a blob trigger. Other writers are seen only by listing.
	Changed(container string) <-chan struct{}
}

// ValidateContainer reports whether name is a valid blob container name
// (3-63 lower-case letters, digits and single dashes, starting and ending
// with a letter or digit). The host also accepts "$root" and "$web".
func ValidateContainer(name string) error {
	if name == "$root" || name == "$web" {
		return nil
	}
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("container name %q must be 3 to 63 characters long", name)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(name)-1 && name[i-1] != '-':
		default:
			return fmt.Errorf("container name %q may only hold lower-case letters, digits and single dashes between them", name)
		}
	}
	return nil
}

// ValidateBlobName reports whether name is a blob name (1-1024 characters)
// that the folder backend can also store: no empty, "." or ".." segment
// between slashes.
func ValidateBlobName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("blob name %q must be 1 to 1024 characters long", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\x00\\") {
			return fmt.Errorf("blob name %q has an empty, \".\" or \"..\" path segment or a backslash", name)
		}
	}
	return nil
}

// Folder keeps blobs as files: <Root>/<container>/<name>, where the slashes
// of a name make sub-folders. It is what blobs are without a storage
// account: <app>/.wasmfunc/blobs.
type Folder struct {
	Root string

	written signals
}

var _ Blobs = (*Folder)(nil)

// FolderFor returns the folder backend of the app in appDir.
func FolderFor(appDir string) *Folder {
	return &Folder{Root: filepath.Join(appDir, ".wasmfunc", "blobs")}
}

func (f *Folder) file(container, name string) (string, error) {
	if err := ValidateContainer(container); err != nil {
		return "", err
	}
	if err := ValidateBlobName(name); err != nil {
		return "", err
	}
	return filepath.Join(f.Root, container, filepath.FromSlash(name)), nil
}

// info describes the file p holding blob container/name.
func (f *Folder) info(container, name, p string, st fs.FileInfo) BlobInfo {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	return BlobInfo{
		Container:     container,
		Name:          name,
		URL:           (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(),
		ETag:          fmt.Sprintf("0x%X%04X", st.ModTime().UnixNano(), st.Size()&0xFFFF),
		LastModified:  st.ModTime().UTC(),
		CreatedOn:     st.ModTime().UTC(),
		ContentLength: st.Size(),
		ContentType:   "application/octet-stream",
		Metadata:      map[string]string{},
	}
}

// Read implements Blobs.
func (f *Folder) Read(_ context.Context, container, name string) ([]byte, BlobInfo, error) {
	p, err := f.file(container, name)
	if err != nil {
		return nil, BlobInfo{}, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, BlobInfo{}, fmt.Errorf("%s/%s: %w", container, name, ErrBlobNotFound)
	}
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("reading blob %s/%s: %w", container, name, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("reading blob %s/%s: %w", container, name, err)
	}
	info := f.info(container, name, p, st)
	sum := md5.Sum(data)
	info.ContentMD5 = sum[:]
	return data, info, nil
}

// Write implements Blobs. The file is written next to the others and
// renamed into place, so a reader or a blob trigger never sees half of it.
func (f *Folder) Write(_ context.Context, container, name string, data []byte) (BlobInfo, error) {
	p, err := f.file(container, name)
	if err != nil {
		return BlobInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	// The temporary file lives outside every container (".tmp" is not a
	// container name), so List never sees it.
	tmpDir := filepath.Join(f.Root, ".tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	tmp, err := os.CreateTemp(tmpDir, "blob-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	if err := tmp.Close(); err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	// The ETag comes from the modification time: set it to the nanosecond
	// (the kernel's own stamp may be coarser), so that two writes in a row
	// give two ETags.
	now := time.Now()
	if err := os.Chtimes(p, now, now); err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return BlobInfo{}, fmt.Errorf("writing blob %s/%s: %w", container, name, err)
	}
	info := f.info(container, name, p, st)
	sum := md5.Sum(data)
	info.ContentMD5 = sum[:]
	f.written.notify(container)
	return info, nil
}

// Changed implements Blobs.
func (f *Folder) Changed(container string) <-chan struct{} { return f.written.wait(container) }

// List implements Blobs.
func (f *Folder) List(_ context.Context, container, prefix string) ([]BlobInfo, error) {
	if err := ValidateContainer(container); err != nil {
		return nil, err
	}
	root := filepath.Join(f.Root, container)
	// Walk only the folder the prefix is in.
	start := root
	if dir := path.Dir(prefix); strings.Contains(prefix, "/") && dir != "." {
		start = filepath.Join(root, filepath.FromSlash(dir))
	}
	var out []BlobInfo
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if !strings.HasPrefix(name, prefix) {
			return nil
		}
		st, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		out = append(out, f.info(container, name, p, st))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing blobs of %s: %w", container, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
