package main

import (
	"fmt"
	"strings"
)

// renderRandom writes gen_random_test.go: a randomizer for every struct
// that fills exactly what a given version carries, in the canonical form the
// decoder produces, and the list of all top-level types for the tests.
func renderRandom(msgs []*message) []byte {
	var g gen
	g.buf.WriteString(header)
	for _, m := range msgs {
		for _, st := range m.structs {
			emitRandom(&g, st)
		}
	}
	g.p("// allMessages lists every top-level type with its version range.")
	g.p("var allMessages = []testMessage{")
	for _, m := range msgs {
		lo, hi := m.valid.lo, m.valid.hi
		if m.valid.empty() {
			lo, hi = -1, -1
		}
		g.p("{name: %q, kind: %q, key: %d, min: %d, max: %d, new: func() randomMessage { return new(%s) }},",
			m.goName, m.kind, m.key, lo, hi, m.goName)
	}
	g.p("}")
	return gofmt(g.buf.String())
}

func emitRandom(g *gen, st *strct) {
	m := st.msg
	var b gen
	if st.top {
		b.p("v.Version = version")
	}
	for _, f := range st.fields {
		x := "v." + f.name
		reg := cond(f.regular, m)
		tag := and("flexible", cond(f.tagged, m))
		if reg != "false" {
			b.p("if %s {", reg)
			randomValue(&b, f, x, st)
			b.p("} else")
		}
		if tag != "false" {
			b.p("if %s {", tag)
			randomValue(&b, f, x, st)
			b.p("if %s { %s }", negate(b.nonDefault(f, x)), f.defaultAssign(x))
			b.p("} else")
		}
		b.p("{ %s }", f.defaultAssign(x))
	}
	if st.flexAny() {
		b.p("v.UnknownTags = UnknownTags{}")
		b.p("if flexible && g.intn(4) == 0 {")
		b.p("v.UnknownTags.Add(90 + uint32(g.intn(10)), g.bytes())")
		b.p("v.UnknownTags.Add(1000, g.bytes())")
		b.p("}")
	}
	g.p("func (v *%s) randomize(g *rng, version int16, depth int) {", st.goName)
	g.buf.WriteString(withFlexible(m, b.buf.String()))
	g.p("}\n")
}

func randomValue(g *gen, f *field, x string, st *strct) {
	n := cond(f.nullable, st.msg)
	if f.array {
		if n != "false" {
			g.p("if %s && g.intn(5) == 0 { %s = nil } else {", n, x)
		} else {
			g.p("{")
		}
		g.p("a := make([]%s, g.count(depth))", f.elemType())
		g.p("for i := range a {")
		switch f.elem {
		case "struct":
			g.p("a[i].randomize(g, version, depth+1)")
		default:
			g.p("a[i] = %s", randomScalar(f.elem))
		}
		g.p("}")
		g.p("%s = a", x)
		g.p("}")
		return
	}
	switch {
	case f.elem == "struct" && f.nullableAny():
		g.p("if %s && g.intn(5) == 0 { %s = nil } else {", n, x)
		g.p("%s = new(%s)", x, f.st.goName)
		g.p("%s.randomize(g, version, depth+1)", x)
		g.p("}")
	case f.elem == "struct":
		g.p("%s.randomize(g, version, depth+1)", x)
	case f.elem == "string" && f.nullableAny():
		g.p("if %s && g.intn(5) == 0 { %s = nil } else {", n, x)
		g.p("s := g.str()")
		g.p("%s = &s", x)
		g.p("}")
	case f.elem == "bytes" || f.elem == "records":
		g.p("if %s && g.intn(5) == 0 { %s = nil } else { %s = g.bytes() }", n, x, x)
	default:
		g.p("%s = %s", x, randomScalar(f.elem))
	}
}

func randomScalar(t string) string {
	switch t {
	case "int8", "int16", "int32", "int64", "uint16", "uint32":
		return fmt.Sprintf("%s(g.u64())", t)
	case "float64":
		return "float64(int32(g.u64())) / 8"
	case "bool":
		return "g.intn(2) == 1"
	case "uuid":
		return "g.uuid()"
	case "string":
		return "g.str()"
	case "bytes", "records":
		return "g.bytes()"
	}
	fatalf("no random scalar for %s", t)
	return strings.ToUpper(t)
}

// negate negates a condition without stacking "!" signs.
func negate(c string) string {
	if strings.HasPrefix(c, "!") && !strings.HasPrefix(c, "!(") && !strings.ContainsAny(c, " &|") {
		return c[1:]
	}
	return "!(" + c + ")"
}
