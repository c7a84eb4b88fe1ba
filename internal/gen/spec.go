package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// rawSpec mirrors the JSON layout of one Kafka message spec file.
type rawSpec struct {
	APIKey           *int        `json:"apiKey"`
	Type             string      `json:"type"`
	Name             string      `json:"name"`
	ValidVersions    string      `json:"validVersions"`
	FlexibleVersions string      `json:"flexibleVersions"`
	Fields           []*rawField `json:"fields"`
	CommonStructs    []*rawField `json:"commonStructs"`
	Unstable         bool        `json:"latestVersionUnstable"`
	About            string      `json:"about"`     // prose, deliberately unused
	Listeners        []string    `json:"listeners"` // broker-side routing, unused
}

// rawField is one field (or one common struct, which has only a name,
// versions and fields).
type rawField struct {
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Versions         string          `json:"versions"`
	NullableVersions string          `json:"nullableVersions"`
	TaggedVersions   string          `json:"taggedVersions"`
	FlexibleVersions string          `json:"flexibleVersions"`
	Tag              *int            `json:"tag"`
	Ignorable        bool            `json:"ignorable"`
	Default          json.RawMessage `json:"default"`
	MapKey           bool            `json:"mapKey"`
	ZeroCopy         bool            `json:"zeroCopy"`
	EntityType       string          `json:"entityType"`
	Fields           []*rawField     `json:"fields"`
	About            string          `json:"about"` // prose, deliberately unused
}

// defaultText returns the field's default as text ("" when unset).
func (f *rawField) defaultText() (string, bool) {
	if len(f.Default) == 0 {
		return "", false
	}
	var s string
	if err := json.Unmarshal(f.Default, &s); err == nil {
		return s, true
	}
	return strings.TrimSpace(string(f.Default)), true
}

// stripComments drops whole-line // comments, which the spec files use
// but JSON does not allow.
func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("//")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// readSpecs loads every common/message/*.json entry of the client jar,
// sorted by file name.
func readSpecs(jarPath string) ([]*rawSpec, error) {
	zr, err := zip.OpenReader(jarPath)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var names []string
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "common/message/") && strings.HasSuffix(f.Name, ".json") {
			names = append(names, f.Name)
			files[f.Name] = f
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no common/message/*.json specs", jarPath)
	}
	var specs []*rawSpec
	for _, n := range names {
		rc, err := files[n].Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		var s rawSpec
		dec := json.NewDecoder(bytes.NewReader(stripComments(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			// Unknown keys are tolerated but reported, so a new spec
			// attribute does not go unnoticed.
			var s2 rawSpec
			if err2 := json.Unmarshal(stripComments(b), &s2); err2 != nil {
				return nil, fmt.Errorf("%s: %v", n, err2)
			}
			warnf("%s: %v", n, err)
			s = s2
		}
		specs = append(specs, &s)
	}
	return specs, nil
}

// vrange is an inclusive version range; lo > hi means empty.
type vrange struct{ lo, hi int }

const maxVersion = 32767

var emptyRange = vrange{1, 0}

func (v vrange) empty() bool { return v.lo > v.hi }

func (v vrange) has(x int) bool { return x >= v.lo && x <= v.hi }

func (v vrange) intersect(o vrange) vrange {
	r := vrange{max(v.lo, o.lo), min(v.hi, o.hi)}
	if r.empty() {
		return emptyRange
	}
	return r
}

// parseRange reads "none", "N", "N+" or "A-B".
func parseRange(s string) (vrange, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" || s == "none":
		return emptyRange, nil
	case strings.HasSuffix(s, "+"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "+"))
		return vrange{n, maxVersion}, err
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err := strconv.Atoi(a)
		if err != nil {
			return emptyRange, err
		}
		hi, err := strconv.Atoi(b)
		return vrange{lo, hi}, err
	default:
		n, err := strconv.Atoi(s)
		return vrange{n, n}, err
	}
}

func mustRange(s, where string) vrange {
	r, err := parseRange(s)
	if err != nil {
		fatalf("%s: bad version range %q: %v", where, s, err)
	}
	return r
}
