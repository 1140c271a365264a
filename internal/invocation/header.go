package invocation

import "fmt"

// CheckHeader reports why the host's web server (Kestrel) would refuse the
// response header name: value, or nil. Kestrel refuses a name that is not
// an HTTP token (RFC 9110 §5.6.2) and a value with control characters (CR,
// LF, NUL …, tab excepted) or characters outside ASCII; the invocation
// would then report success while the caller gets a 500 (docs/host-contract.md
// §3.4). Both guest kinds check their headers with it.
func CheckHeader[T string | []byte](name, value T) error {
	if len(name) == 0 {
		return fmt.Errorf("a response header has an empty name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isTokenChar(c) {
			return fmt.Errorf("response header name %q: byte 0x%02x at %d is not allowed in a header name (only letters, digits and !#$%%&'*+-.^_`|~)", name, c, i)
		}
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '\t':
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("response header %q: control character 0x%02x at %d of its value is not allowed (the host's web server refuses it)", name, c, i)
		case c >= 0x80:
			return fmt.Errorf("response header %q: its value holds characters outside ASCII (byte 0x%02x at %d), which the host's web server refuses; percent-encode them", name, c, i)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
