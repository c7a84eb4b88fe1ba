package main

type apiInfo struct {
	key       int
	name      string
	req, resp *message
}

// renderAPIs writes the key constants, names, version table and the
// constructors by key.
func renderAPIs(apis []apiInfo) []byte {
	var g gen
	g.buf.WriteString(header)
	g.p("// API keys of every request type in the Kafka 4.1.1 specs.")
	g.p("const (")
	for _, a := range apis {
		g.p("Key%s int16 = %d", a.name, a.key)
	}
	g.p(")\n")
	maxKey := apis[len(apis)-1].key
	g.p("// numKeys is one more than the largest API key.")
	g.p("const numKeys = %d\n", maxKey+1)
	g.p("var keyNames = [numKeys]string{")
	for _, a := range apis {
		g.p("%d: %q,", a.key, a.name)
	}
	g.p("}\n")
	g.p("// apiVersions holds, per key, the versions this codec encodes and the")
	g.p("// first flexible one; min -1 marks a key without versions.")
	g.p("var apiVersions = [numKeys]versionInfo{")
	for i := 0; i <= maxKey; i++ {
		var a *apiInfo
		for j := range apis {
			if apis[j].key == i {
				a = &apis[j]
			}
		}
		if a == nil || a.req.valid.empty() {
			g.p("%d: {-1, -1, -1},", i)
			continue
		}
		flex := -1
		if !a.req.flex.empty() {
			flex = a.req.flex.lo
		}
		g.p("%d: {%d, %d, %d},", i, a.req.valid.lo, a.req.valid.hi, flex)
	}
	g.p("}\n")
	g.p("// NewRequest returns an empty request for key with defaults set, or nil")
	g.p("// for an unknown key.")
	g.p("func NewRequest(key int16) Request {")
	g.p("switch key {")
	for _, a := range apis {
		g.p("case %d: return New%s()", a.key, a.req.goName)
	}
	g.p("}")
	g.p("return nil")
	g.p("}\n")
	g.p("// NewResponse returns an empty response for key with defaults set, or nil")
	g.p("// for an unknown key.")
	g.p("func NewResponse(key int16) Response {")
	g.p("switch key {")
	for _, a := range apis {
		g.p("case %d: return New%s()", a.key, a.resp.goName)
	}
	g.p("}")
	g.p("return nil")
	g.p("}\n")
	return gofmt(g.buf.String())
}
