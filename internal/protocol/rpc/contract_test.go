package rpc

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// protocolDoc is the team's reference for the host contract. CI checks it
// out beside the repository.
var protocolDoc = filepath.Join("..", "..", "..", "docs", "host-contract.md")

// TestContractMatchesProtocolDoc checks every message field (number, name,
// type, oneof) and every enum value listed in docs/host-contract.md §5 against the
// generated descriptors, and that no field exists that the document omits.
func TestContractMatchesProtocolDoc(t *testing.T) {
	f, err := os.Open(protocolDoc)
	if err != nil {
		t.Fatalf("the host contract document is part of the repository: %v", err)
	}
	defer f.Close()

	type row struct{ msg, name, typ, oneof string }
	fields := map[string]map[int]row{} // message → number → row
	enums := map[string]string{}       // enum → "A = 0, B = 1"
	inSection, table := false, ""
	number := regexp.MustCompile(`^\d+$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inSection = strings.HasPrefix(line, "## 5.")
			continue
		}
		if !inSection {
			continue
		}
		if strings.HasPrefix(line, "### ") {
			table, _ = strings.CutPrefix(line, "### ")
			continue
		}
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			c := strings.ReplaceAll(cells[i], "*", "")
			if j := strings.Index(c, " ("); j >= 0 { // drop remarks such as "(top-level)"
				c = c[:j]
			}
			cells[i] = strings.TrimSpace(c)
		}
		if strings.HasPrefix(table, "5.9") {
			if len(cells) == 2 && cells[0] != "enum" {
				enums[cells[0]] = cells[1]
			}
			continue
		}
		numAt := -1
		for i, c := range cells {
			if number.MatchString(c) {
				numAt = i
				break
			}
		}
		if numAt < 0 || numAt+2 >= len(cells) {
			continue
		}
		n, _ := strconv.Atoi(cells[numAt])
		r := row{name: cells[numAt+1], typ: strings.Fields(cells[numAt+2] + " ?")[0]}
		if strings.HasPrefix(cells[numAt+2], "repeated") || strings.HasPrefix(cells[numAt+2], "map<") {
			r.typ = cells[numAt+2]
		}
		if numAt+3 < len(cells) {
			r.oneof = strings.Trim(cells[numAt+3], "`— ")
		}
		switch {
		case strings.HasPrefix(table, "5.1"):
			r.msg = "StreamingMessage"
		case numAt > 0 && cells[numAt-1] != "":
			r.msg = cells[numAt-1]
		default:
			r.msg = lastMsg
		}
		lastMsg = r.msg
		if fields[r.msg] == nil {
			fields[r.msg] = map[int]row{}
		}
		fields[r.msg][n] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(fields) < 40 || len(enums) < 10 {
		t.Fatalf("parsed only %d messages and %d enums from %s; has its format changed?", len(fields), len(enums), protocolDoc)
	}

	for msg, byNum := range fields {
		md := findMessage(t, msg)
		if md == nil {
			continue
		}
		for n, r := range byNum {
			fd := md.Fields().ByNumber(protoreflect.FieldNumber(n))
			if fd == nil {
				t.Errorf("%s: field %d (%s) is missing", msg, n, r.name)
				continue
			}
			if string(fd.Name()) != r.name {
				t.Errorf("%s.%d: name %q, docs/host-contract.md says %q", msg, n, fd.Name(), r.name)
			}
			if got := typeName(fd); !typeMatches(got, r.typ) {
				t.Errorf("%s.%s: type %q, docs/host-contract.md says %q", msg, r.name, got, r.typ)
			}
			if oo := fd.ContainingOneof(); oo != nil && !oo.IsSynthetic() && r.oneof != "" && r.oneof != string(oo.Name()) {
				t.Errorf("%s.%s: in oneof %q, docs/host-contract.md says %q", msg, r.name, oo.Name(), r.oneof)
			}
		}
		for i := 0; i < md.Fields().Len(); i++ {
			fd := md.Fields().Get(i)
			if _, ok := byNum[int(fd.Number())]; !ok {
				t.Errorf("%s.%s (%d) is not in docs/host-contract.md §5", msg, fd.Name(), fd.Number())
			}
		}
	}
	for name, values := range enums {
		ed := findEnum(t, name)
		if ed == nil {
			continue
		}
		want := map[string]int{}
		for _, kv := range strings.Split(values, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("enum %s: cannot read %q", name, kv)
			}
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			want[strings.TrimSpace(k)] = n
		}
		if ed.Values().Len() != len(want) {
			t.Errorf("enum %s has %d values, docs/host-contract.md lists %d", name, ed.Values().Len(), len(want))
		}
		for k, n := range want {
			v := ed.Values().ByName(protoreflect.Name(k))
			if v == nil || int(v.Number()) != n {
				t.Errorf("enum %s: %s should be %d", name, k, n)
			}
		}
	}
}

var lastMsg string

func findMessage(t *testing.T, name string) protoreflect.MessageDescriptor {
	for _, full := range []string{"AzureFunctionsRpcMessages." + name, name} {
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(full)); err == nil {
			if md, ok := d.(protoreflect.MessageDescriptor); ok {
				return md
			}
		}
	}
	t.Errorf("message %s is missing", name)
	return nil
}

func findEnum(t *testing.T, name string) protoreflect.EnumDescriptor {
	full := protoreflect.FullName("AzureFunctionsRpcMessages." + name)
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName(full); err == nil {
		if ed, ok := d.(protoreflect.EnumDescriptor); ok {
			return ed
		}
	}
	t.Errorf("enum %s is missing", name)
	return nil
}

// typeName renders a field's type the way docs/host-contract.md writes it.
func typeName(fd protoreflect.FieldDescriptor) string {
	base := func(fd protoreflect.FieldDescriptor) string {
		switch fd.Kind() {
		case protoreflect.MessageKind:
			return string(fd.Message().FullName())
		case protoreflect.EnumKind:
			return string(fd.Enum().FullName())
		}
		return fd.Kind().String()
	}
	switch {
	case fd.IsMap():
		return "map<" + base(fd.MapKey()) + "," + base(fd.MapValue()) + ">"
	case fd.IsList():
		return "repeated " + base(fd)
	}
	return base(fd)
}

// typeMatches compares a descriptor type with the document's spelling, which
// drops the package prefix and writes nested types as Outer.Inner.
func typeMatches(got, doc string) bool {
	norm := func(s string) string {
		s = strings.ReplaceAll(s, "AzureFunctionsRpcMessages.", "")
		s = strings.ReplaceAll(s, " ", "")
		s = strings.ReplaceAll(s, "`", "")
		return strings.ToLower(s)
	}
	g, d := norm(got), norm(doc)
	if g == d {
		return true
	}
	// The document names nested enums by their short name in some rows.
	if i := strings.LastIndex(g, "."); i >= 0 && strings.HasSuffix(g, d) {
		return true
	}
	return false
}
