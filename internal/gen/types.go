package main

import (
	"fmt"
	"strconv"
	"strings"
)

// cond renders "version is in r" for code running under message m, using
// what the message's valid range already guarantees. It returns "true" or
// "false" when the answer does not depend on the version.
func cond(r vrange, m *message) string {
	valid := m.valid
	r = r.intersect(valid)
	if r.empty() {
		return "false"
	}
	var parts []string
	if r.lo > valid.lo {
		parts = append(parts, fmt.Sprintf("version >= %d", r.lo))
	}
	if r.hi < valid.hi {
		parts = append(parts, fmt.Sprintf("version <= %d", r.hi))
	}
	if len(parts) == 0 {
		return "true"
	}
	if len(parts) == 2 && r.lo == r.hi {
		return fmt.Sprintf("version == %d", r.lo)
	}
	return strings.Join(parts, " && ")
}

func not(c string) string {
	switch c {
	case "true":
		return "false"
	case "false":
		return "true"
	}
	return "!(" + c + ")"
}

func and(a, b string) string {
	switch {
	case a == "false" || b == "false":
		return "false"
	case a == "true":
		return b
	case b == "true":
		return a
	}
	return a + " && " + b
}

var goPrim = map[string]string{
	"int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
	"uint16": "uint16", "uint32": "uint32", "float64": "float64", "bool": "bool",
	"string": "string", "bytes": "[]byte", "records": "[]byte", "uuid": "UUID",
}

// elemType is the Go type of one element (or of the value, for scalars).
func (f *field) elemType() string {
	if f.elem == "struct" {
		return f.st.goName
	}
	return goPrim[f.elem]
}

// goType is the Go type of the struct field.
func (f *field) goType() string {
	switch {
	case f.array:
		return "[]" + f.elemType()
	case f.elem == "string" && f.nullableAny():
		return "*string"
	case f.elem == "struct" && f.nullableAny():
		return "*" + f.st.goName
	}
	return f.elemType()
}

// compactExpr is the expression telling whether f uses compact forms.
func (f *field) compactExpr() string {
	if f.neverFlex {
		return "false"
	}
	return "flexible"
}

// literal is the Go literal of f's scalar default.
func (f *field) literal() string {
	d := f.def
	switch f.elem {
	case "bool":
		if d == "true" {
			return "true"
		}
		return "false"
	case "string":
		return strconv.Quote(d)
	case "int8", "int16", "int32", "int64":
		if !f.hasDef || d == "" {
			return "0"
		}
		n, err := strconv.ParseInt(d, 0, 64)
		if err != nil {
			fatalf("%s: bad default %q", f.specName, d)
		}
		return strconv.FormatInt(n, 10)
	case "uint16", "uint32":
		if !f.hasDef || d == "" {
			return "0"
		}
		n, err := strconv.ParseUint(d, 0, 64)
		if err != nil {
			fatalf("%s: bad default %q", f.specName, d)
		}
		return strconv.FormatUint(n, 10)
	case "float64":
		if !f.hasDef || d == "" {
			return "0"
		}
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			fatalf("%s: bad default %q", f.specName, d)
		}
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	return ""
}

// nonDefault is an expression that is true when x differs from f's
// default. It registers the struct isDefault helpers it relies on.
func (g *gen) nonDefault(f *field, x string) string {
	switch {
	case f.array || f.elem == "bytes" || f.elem == "records":
		if f.def == "null" {
			return x + " != nil"
		}
		return "len(" + x + ") != 0"
	case f.elem == "uuid":
		return x + " != (UUID{})"
	case f.elem == "string" && f.nullableAny():
		return x + " != nil"
	case f.elem == "struct" && f.nullableAny():
		return x + " != nil"
	case f.elem == "struct":
		g.needDefault(f.st)
		return "!" + x + ".isDefault()"
	}
	return x + " != " + f.literal()
}

// defaultAssign sets x to f's default. Clearing a pointer-shaped field is
// guarded by a nil test: the decoder mostly fills freshly zeroed memory, and
// skipping the store avoids a GC write barrier.
func (f *field) defaultAssign(x string) string {
	s := f.defaultAssignRaw(x)
	if strings.HasSuffix(s, " = nil") {
		return "if " + x + " != nil { " + s + " }"
	}
	return s
}

func (f *field) defaultAssignRaw(x string) string {
	switch {
	case f.array || f.elem == "bytes" || f.elem == "records":
		return x + " = nil"
	case f.elem == "uuid":
		return x + " = UUID{}"
	case f.elem == "string" && f.nullableAny():
		if f.hasDef && f.def != "null" {
			return x + " = newString(" + strconv.Quote(f.def) + ")"
		}
		return x + " = nil"
	case f.elem == "struct" && f.nullableAny():
		return x + " = nil"
	case f.elem == "struct":
		return x + ".Default()"
	}
	return x + " = " + f.literal()
}

// describeRange renders a version range for doc comments, as the end of
// "present ..." or "nullable ...".
func describeRange(r, valid vrange) string {
	switch {
	case r.lo <= valid.lo && r.hi >= valid.hi:
		return "in every version"
	case r.lo == r.hi:
		return fmt.Sprintf("in version %d", r.lo)
	case r.hi >= valid.hi:
		return fmt.Sprintf("from version %d", r.lo)
	}
	return fmt.Sprintf("in versions %d-%d", r.lo, r.hi)
}

func article(t string) string {
	if strings.IndexByte("aeio", t[0]) >= 0 {
		return "an " + t
	}
	return "a " + t
}

// fieldDoc builds a field's doc comment from its metadata.
func fieldDoc(f *field, m *message) string {
	var parts []string
	t := f.raw.Type
	switch {
	case f.versions.empty():
		parts = append(parts, "is in no version this codec encodes")
	default:
		parts = append(parts, "is "+article(t)+" present "+describeRange(f.versions, m.valid))
	}
	if !f.nullable.empty() {
		parts = append(parts, "nullable "+describeRange(f.nullable, m.valid))
	}
	if !f.tagged.empty() {
		parts = append(parts, fmt.Sprintf("tagged field %d %s", f.tag, describeRange(f.tagged, m.valid)))
	}
	if f.neverFlex {
		parts = append(parts, "never in compact form")
	}
	if f.hasDef {
		parts = append(parts, "default "+strconv.Quote(f.def))
	}
	if f.ignorable {
		parts = append(parts, "ignorable (silently dropped by versions without it)")
	}
	if f.raw.MapKey {
		parts = append(parts, "map key of its array")
	}
	if f.raw.EntityType != "" {
		parts = append(parts, "entity "+f.raw.EntityType)
	}
	if f.name != f.specName {
		parts = append(parts, "named "+f.specName+" in the spec")
	}
	return f.name + " " + strings.Join(parts, "; ") + "."
}
