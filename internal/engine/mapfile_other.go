//go:build !unix

package engine

import "os"

// mapFile reads the file at path (systems without mmap); the returned
// function does nothing.
func mapFile(path string) ([]byte, func(), error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return b, func() {}, nil
}
