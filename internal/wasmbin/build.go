package wasmbin

// Encoders of whole entries and modules, for building small modules by
// hand:
//
//	wasmbin.Module(
//		wasmbin.Section(wasmbin.SectionType, wasmbin.FuncType(nil, nil)),
//		wasmbin.FuncSection(0),
//		wasmbin.Section(wasmbin.SectionExport, wasmbin.Export("_start", wasmbin.KindFunc, 0)),
//		wasmbin.Section(wasmbin.SectionCode, wasmbin.Body(0x03, 0x40, 0x0c, 0x00, 0x0b)), // loop br 0 end
//	)
//
// Instrument uses FuncType and FuncImport; the others are here for tests,
// this package's and the engine's, which build their hostile and edge-case
// modules with them.

// Module returns a binary made of the header (Magic and Version) and the
// sections, each already encoded. It is for tests that build modules by
// hand.
func Module(sections ...[]byte) []byte {
	b := []byte(Magic + Version)
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

// Section returns a section whose content is the vector of items, each
// already encoded: the form of every section but custom, start and data
// count sections. It is for tests that build modules by hand.
func Section(id byte, items ...[]byte) []byte {
	return AppendSection(nil, id, AppendVec(nil, items...))
}

// FuncSection returns a function section declaring one function of each of
// the given type indices. It is for tests that build modules by hand.
func FuncSection(typeIdx ...uint32) []byte {
	items := make([][]byte, len(typeIdx))
	for i, t := range typeIdx {
		items[i] = AppendULEB(nil, uint64(t))
	}
	return Section(SectionFunction, items...)
}

// FuncType returns a function type, an entry of the type section. params
// and results hold one value type (I32, I64 ...) a byte.
func FuncType(params, results []byte) []byte {
	b := []byte{0x60}
	b = AppendULEB(b, uint64(len(params)))
	b = append(b, params...)
	b = AppendULEB(b, uint64(len(results)))
	return append(b, results...)
}

// FuncImport returns an entry of the import section that imports
// module.name as a function of the given type.
func FuncImport(module, name string, typeIdx uint32) []byte {
	b := AppendName(nil, module)
	b = AppendName(b, name)
	b = append(b, byte(KindFunc))
	return AppendULEB(b, uint64(typeIdx))
}

// Export returns an entry of the export section. It is for tests that
// build modules by hand.
func Export(name string, kind ExternKind, idx uint32) []byte {
	b := AppendName(nil, name)
	b = append(b, byte(kind))
	return AppendULEB(b, uint64(idx))
}

// Body returns an entry of the code section: a function without locals
// whose instructions are code, which must not include the final end. It
// is for tests that build modules by hand.
func Body(code ...byte) []byte {
	n := len(code) + 2 // the empty locals vector and the end
	b := AppendULEB(nil, uint64(n))
	b = append(b, 0x00)
	b = append(b, code...)
	return append(b, 0x0b)
}
