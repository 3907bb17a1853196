package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Spec is the subset of the extracted API reference (../../spec/*.json) that
// code generation needs.
type Spec struct {
	Service       string      `json:"service"`
	Version       string      `json:"version"`
	Actions       []Action    `json:"actions"`
	DataTypes     []DataType  `json:"data_types"`
	CommonErrors  []ErrorCode `json:"common_errors"`
	ServiceErrors []ErrorCode `json:"service_errors"`
}

// Action is one API action with its documented parameters and error codes.
type Action struct {
	Name        string      `json:"name"`
	Title       string      `json:"title_zh"`
	RateLimit   int         `json:"rate_limit_per_s"`
	Deprecated  bool        `json:"deprecated"`
	Inputs      []Param     `json:"inputs"`
	Outputs     []Param     `json:"outputs"`
	Errors      []ErrorCode `json:"errors"`
	Description string      `json:"description"`
}

// Param is a request parameter, response field or structure member.
type Param struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Nullable    bool   `json:"nullable"`
	Description string `json:"description"`
}

// DataType is a structure used in requests or responses.
type DataType struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Fields      []Param `json:"fields"`
}

// ErrorCode is a documented error code and its (Chinese) description.
type ErrorCode struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

func loadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range s.Actions {
		a := &s.Actions[i]
		a.Inputs = stripN(a.Inputs)
		var outs []Param
		for _, o := range stripN(a.Outputs) {
			if o.Name != "RequestId" {
				outs = append(outs, o)
			}
		}
		a.Outputs = outs
	}
	for i := range s.DataTypes {
		s.DataTypes[i].Fields = stripN(s.DataTypes[i].Fields)
	}
	sort.Slice(s.Actions, func(i, j int) bool { return s.Actions[i].Name < s.Actions[j].Name })
	sort.Slice(s.DataTypes, func(i, j int) bool { return s.DataTypes[i].Name < s.DataTypes[j].Name })
	return &s, nil
}

// stripN turns the documentation's "Foo.N" array notation into the wire name.
func stripN(ps []Param) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		p.Name = strings.TrimSuffix(p.Name, ".N")
		out[i] = p
	}
	return out
}

// goType maps a documented type to the generated Go type. Scalars are
// pointers so that "absent" and "zero" stay distinguishable, as in the
// official SDK.
func goType(t string) string {
	if elem, ok := strings.CutPrefix(t, "Array of "); ok {
		return "[]" + strings.TrimPrefix(goType(elem), "*")
	}
	switch t {
	case "String", "Timestamp", "Date", "Timestamp ISO8601", "Binary":
		return "*string"
	case "Integer":
		return "*int64"
	case "Boolean":
		return "*bool"
	case "Float", "Double":
		return "*float64"
	}
	return "*" + t
}

// firstLine shortens a documentation string to one comment line.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return s
}

// relax makes the listed Action.Param inputs (comma-separated) optional:
// the handler then decides what their absence means. A name that is not a
// required input of the spec is an error, so a stale list fails the build.
func relax(s *Spec, list string) error {
	if list == "" {
		return nil
	}
	for _, name := range strings.Split(list, ",") {
		action, param, _ := strings.Cut(name, ".")
		if !relaxOne(s, action, param) {
			return fmt.Errorf("-optional %s: not a required input of %s %s", name, s.Service, s.Version)
		}
	}
	return nil
}

func relaxOne(s *Spec, action, param string) bool {
	for i := range s.Actions {
		if s.Actions[i].Name != action {
			continue
		}
		for j := range s.Actions[i].Inputs {
			if in := &s.Actions[i].Inputs[j]; in.Name == param && in.Required {
				in.Required = false
				return true
			}
		}
	}
	return false
}
