//go:build !unix

package engine

import "os"

// inode is 0 where the platform does not report one.
func inode(os.FileInfo) uint64 { return 0 }
