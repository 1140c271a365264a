//go:build wasip1

// Command probe tries what a sandboxed guest may and may not do, and
// misbehaves on request. Its first argument picks the mode:
//
//	env                  print the environment as a JSON array
//	entropy              print {"unixNano":…,"random":"<32 bytes hex>"}
//	read PATH            print the file's contents
//	write PATH TEXT      write TEXT to the file and print "ok"
//	symlink TARGET LINK  make LINK point to TARGET, then print LINK's contents
//	dial ADDR            print the error of a TCP connection to ADDR
//	utf8                 write bytes that are not valid UTF-8 to stdout
//	bigout MIB           write MIB MiB to stdout, stopping at the first error
//	recurse              recurse without end
//	sha256 N             hash a 64 KiB buffer N times (CPU-bound) and print the sum
//
// Errors are printed to stderr with exit code 1.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("no mode given"))
	}
	arg := func(i int) string {
		if len(os.Args) <= i {
			fail(fmt.Errorf("mode %s needs %d arguments", os.Args[1], i-1))
		}
		return os.Args[i]
	}
	switch os.Args[1] {
	case "env":
		out(json.Marshal(os.Environ()))
	case "entropy":
		r := make([]byte, 32)
		if _, err := rand.Read(r); err != nil {
			fail(err)
		}
		out(json.Marshal(map[string]any{"unixNano": time.Now().UnixNano(), "random": hex.EncodeToString(r)}))
	case "read":
		out(os.ReadFile(arg(2)))
	case "write":
		if err := os.WriteFile(arg(2), []byte(arg(3)), 0o644); err != nil {
			fail(err)
		}
		fmt.Print("ok")
	case "symlink":
		if err := os.Symlink(arg(2), arg(3)); err != nil {
			fail(err)
		}
		out(os.ReadFile(arg(3)))
	case "link":
		if err := os.Link(arg(2), arg(3)); err != nil {
			fail(err)
		}
		out(os.ReadFile(arg(3)))
	case "rename":
		if err := os.Rename(arg(2), arg(3)); err != nil {
			fail(err)
		}
		out(os.ReadFile(arg(3)))
	case "openmany": // openmany PATH N: open PATH N times, keep them open
		n, _ := strconv.Atoi(arg(3))
		var files []*os.File
		for range n {
			f, err := os.Open(arg(2))
			if err != nil {
				fmt.Fprintf(os.Stderr, "after %d opens: %v\n", len(files), err)
				break
			}
			files = append(files, f)
		}
		fmt.Print(len(files))
	case "fill": // fill PATH N: write N bytes to PATH in 64 KiB writes
		n, _ := strconv.Atoi(arg(3))
		f, err := os.Create(arg(2))
		if err != nil {
			fail(err)
		}
		buf := make([]byte, 64<<10)
		written := 0
		for written < n {
			k, err := f.Write(buf[:min(len(buf), n-written)])
			written += k
			if err != nil {
				fmt.Fprintf(os.Stderr, "after %d bytes: %v\n", written, err)
				break
			}
		}
		fmt.Print(written)
	case "dial":
		c, err := net.Dial("tcp", arg(2))
		if err == nil {
			c.Close()
			fmt.Print("connected")
			return
		}
		fmt.Print(err.Error())
	case "utf8":
		os.Stdout.Write([]byte("{\"text\":\"\xff\xfe\xc3\x28 not UTF-8\"}"))
	case "bigout":
		n, _ := strconv.Atoi(arg(2))
		block := make([]byte, 1<<20)
		for i := range block {
			block[i] = 'a' + byte(i%26)
		}
		for i := 0; i < n; i++ {
			if _, err := os.Stdout.Write(block); err != nil {
				fail(err)
			}
		}
	case "recurse":
		fmt.Println(recurse(0))
	case "sha256":
		n, _ := strconv.Atoi(arg(2))
		buf := make([]byte, 64<<10)
		sum := sha256.Sum256(nil)
		for i := 0; i < n; i++ {
			copy(buf, sum[:])
			sum = sha256.Sum256(buf)
		}
		fmt.Print(hex.EncodeToString(sum[:]))
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

var depth int

func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	depth = n
	return recurse(n+1) + int(pad[(n+1)%64])
}

func out(b []byte, err error) {
	if err != nil {
		fail(err)
	}
	os.Stdout.Write(b)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}
