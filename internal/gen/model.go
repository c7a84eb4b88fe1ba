package main

import (
	"sort"
	"strings"
)

// message is one spec file turned into Go types.
type message struct {
	spec    *rawSpec
	goName  string // ProduceRequest
	kind    string // request, response, header or data
	key     int    // API key, -1 for headers and data
	api     string // Produce (requests and responses only)
	valid   vrange
	flex    vrange
	root    *strct
	structs []*strct // root first, then in order of definition
}

// strct is a Go struct type: a message's top level or a nested struct.
type strct struct {
	goName   string
	specName string
	msg      *message
	fields   []*field
	top      bool
	path     string // where the struct is first used, e.g. ProduceRequest.TopicData
	minSize  int    // smallest encoding over the message's versions
	raw      *rawField
	resolved bool
}

// field is one field of a struct.
type field struct {
	name      string // Go name
	specName  string
	array     bool
	elem      string // int8 ... float64, bool, string, bytes, records, uuid or struct
	st        *strct
	versions  vrange // intersected with the message's valid versions
	nullable  vrange
	tagged    vrange
	regular   vrange // versions in which the field is written in place
	tag       int
	ignorable bool
	def       string
	hasDef    bool
	neverFlex bool // the field's own flexibleVersions is "none"
	raw       *rawField
}

var primitives = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true, "uint16": true,
	"uint32": true, "float64": true, "bool": true, "string": true, "bytes": true,
	"records": true, "uuid": true,
}

// reservedTop are names the top-level types use for their own fields and
// methods; spec fields with these names are renamed.
var reservedTop = map[string]string{
	"Key":     "CoordinatorKey",
	"Version": "DataVersion",
}

var reservedNested = map[string]bool{"Default": true, "UnknownTags": true}

// buildMessages turns the specs into the model.
func buildMessages(specs []*rawSpec) []*message {
	var msgs []*message
	global := map[string]string{}
	for _, s := range specs {
		m := &message{spec: s, goName: s.Name, kind: s.Type, key: -1}
		if s.APIKey != nil {
			m.key = *s.APIKey
		}
		switch s.Type {
		case "request":
			m.api = strings.TrimSuffix(s.Name, "Request")
		case "response":
			m.api = strings.TrimSuffix(s.Name, "Response")
		case "header", "data":
		default:
			fatalf("%s: unknown spec type %q", s.Name, s.Type)
		}
		m.valid = mustRange(s.ValidVersions, s.Name)
		m.flex = mustRange(s.FlexibleVersions, s.Name).intersect(m.valid)
		buildStructs(m, global)
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		for _, st := range m.structs {
			st.minSize = minSizeOver(st)
		}
	}
	return msgs
}

func buildStructs(m *message, global map[string]string) {
	local := map[string]*strct{}
	define := func(specName, path string, raw *rawField, top bool) *strct {
		if st, ok := local[specName]; ok {
			if !sameFields(st.raw, raw) {
				fatalf("%s: struct %s defined twice with different fields", m.goName, specName)
			}
			return st
		}
		goName := specName
		if !top && !strings.HasPrefix(specName, m.goName) {
			goName = m.goName + specName
		}
		if prev, ok := global[goName]; ok {
			fatalf("Go type name %s used by %s and %s", goName, prev, path)
		}
		global[goName] = path
		st := &strct{goName: goName, specName: specName, msg: m, top: top, path: path, raw: raw}
		local[specName] = st
		m.structs = append(m.structs, st)
		return st
	}
	rootRaw := &rawField{Name: m.goName, Fields: m.spec.Fields}
	m.root = define(m.goName, m.goName, rootRaw, true)
	// Common structs are defined up front so inline uses can refer to them.
	for _, cs := range m.spec.CommonStructs {
		define(cs.Name, m.goName+"."+cs.Name, cs, false)
	}
	// Inline definitions, depth first in field order.
	var walk func(fs []*rawField, path string)
	walk = func(fs []*rawField, path string) {
		for _, f := range fs {
			t := strings.TrimPrefix(f.Type, "[]")
			if len(f.Fields) > 0 {
				define(t, path+"."+f.Name, f, false)
				walk(f.Fields, path+"."+f.Name)
			}
		}
	}
	walk(m.spec.Fields, m.goName)
	for _, cs := range m.spec.CommonStructs {
		walk(cs.Fields, m.goName+"."+cs.Name)
	}
	for _, st := range m.structs {
		resolveFields(m, st, local)
	}
}

func sameFields(a, b *rawField) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || a.Fields[i].Type != b.Fields[i].Type {
			return false
		}
	}
	return true
}

func resolveFields(m *message, st *strct, local map[string]*strct) {
	if st.resolved {
		return
	}
	st.resolved = true
	where := st.path
	for _, rf := range st.raw.Fields {
		f := &field{specName: rf.Name, name: exported(rf.Name), raw: rf, ignorable: rf.Ignorable}
		if st.top {
			if n, ok := reservedTop[rf.Name]; ok {
				f.name = n
			}
		}
		if reservedNested[f.name] {
			fatalf("%s.%s: field name clashes with a generated name", where, rf.Name)
		}
		t := rf.Type
		if strings.HasPrefix(t, "[]") {
			f.array = true
			t = t[2:]
		}
		if primitives[t] {
			f.elem = t
		} else {
			f.elem = "struct"
			sub, ok := local[t]
			if !ok {
				fatalf("%s.%s: unknown type %s", where, rf.Name, rf.Type)
			}
			f.st = sub
		}
		f.versions = mustRange(rf.Versions, where+"."+rf.Name).intersect(m.valid)
		f.nullable = mustRange(rf.NullableVersions, where+"."+rf.Name).intersect(f.versions)
		f.tagged = mustRange(rf.TaggedVersions, where+"."+rf.Name).intersect(f.versions).intersect(m.flex)
		switch {
		case f.tagged.empty():
			f.regular = f.versions
		case f.tagged == f.versions:
			f.regular = emptyRange
		case f.tagged.hi == f.versions.hi && f.tagged.lo > f.versions.lo:
			f.regular = vrange{f.versions.lo, f.tagged.lo - 1}
		default:
			fatalf("%s.%s: unsupported tagged/versions combination", where, rf.Name)
		}
		if rf.Tag != nil {
			f.tag = *rf.Tag
		} else if !f.tagged.empty() {
			fatalf("%s.%s: tagged field without a tag", where, rf.Name)
		}
		f.def, f.hasDef = rf.defaultText()
		if rf.FlexibleVersions != "" {
			if r := mustRange(rf.FlexibleVersions, where); !r.empty() {
				fatalf("%s.%s: only flexibleVersions none is supported on fields", where, rf.Name)
			}
			f.neverFlex = true
		}
		st.fields = append(st.fields, f)
	}
}

// nullableAny reports whether the Go type needs a nil state.
func (f *field) nullableAny() bool { return !f.nullable.empty() }

// taggedFields returns the struct's tagged fields ordered by tag.
func (st *strct) taggedFields() []*field {
	var out []*field
	for _, f := range st.fields {
		if !f.tagged.empty() {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].tag < out[j].tag })
	return out
}

// flexAny reports whether the struct has tagged-field sections at all.
// hasRecords reports whether a records field is reachable from st, which
// then has its records written through writer.appendRecords.
func (st *strct) hasRecords() bool {
	for _, f := range st.fields {
		if f.hasRecords() {
			return true
		}
	}
	return false
}

// hasRecords reports whether f is, or (through a struct) holds, records.
func (f *field) hasRecords() bool {
	return f.elem == "records" || (f.elem == "struct" && f.st.hasRecords())
}

func (st *strct) flexAny() bool { return !st.msg.flex.empty() }

var primSize = map[string]int{
	"int8": 1, "bool": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
	"int64": 8, "float64": 8, "uuid": 16,
}

// sizeAt is the smallest encoding of st at version v.
func sizeAt(st *strct, v int) int {
	flex := st.msg.flex.has(v)
	n := 0
	if flex {
		n++
	}
	for _, f := range st.fields {
		if !f.regular.has(v) {
			continue
		}
		compact := flex && !f.neverFlex
		switch {
		case f.array:
			n += pick(compact, 1, 4)
		case f.elem == "string":
			n += pick(compact, 1, 2)
		case f.elem == "bytes" || f.elem == "records":
			n += pick(compact, 1, 4)
		case f.elem == "struct":
			if f.nullable.has(v) {
				n++
			} else {
				n += sizeAt(f.st, v)
			}
		default:
			n += primSize[f.elem]
		}
	}
	return n
}

func minSizeOver(st *strct) int {
	best := -1
	for v := st.msg.valid.lo; v <= st.msg.valid.hi; v++ {
		if s := sizeAt(st, v); best < 0 || s < best {
			best = s
		}
	}
	return max(best, 0)
}

// elemMin is the smallest encoding of one array element of f.
func (f *field) elemMin() int {
	switch f.elem {
	case "string", "bytes", "records":
		return 1
	case "struct":
		return max(f.st.minSize, 1)
	default:
		return primSize[f.elem]
	}
}

func pick(c bool, a, b int) int {
	if c {
		return a
	}
	return b
}

// exported capitalizes a spec name (a few specs use lowerCamel names).
func exported(s string) string {
	if s == "" || (s[0] >= 'A' && s[0] <= 'Z') {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
