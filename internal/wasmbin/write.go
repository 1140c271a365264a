package wasmbin

// The encoders of the binary format. Every encoder appends to b and returns
// the extended slice, as the append built-in does.

// AppendULEB appends v as an unsigned LEB128 number.
func AppendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendSLEB appends v as a signed LEB128 number.
func AppendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendName appends s as a name: its length in bytes, then its bytes.
func AppendName(b []byte, s string) []byte {
	b = AppendULEB(b, uint64(len(s)))
	return append(b, s...)
}

// AppendVec appends a vector: the number of items, then the items, each
// already encoded.
func AppendVec(b []byte, items ...[]byte) []byte {
	b = AppendULEB(b, uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// AppendSection appends a section (or a subsection of a custom section):
// its id, the size of body, then body.
func AppendSection(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = AppendULEB(b, uint64(len(body)))
	return append(b, body...)
}
