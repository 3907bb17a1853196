package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// family is the shape of Tencent's published API definitions (the files
// its command-line client is generated from): actions name request and
// response objects, objects list members.
type family struct {
	Service string                  `json:"service"`
	Version string                  `json:"version"`
	Actions map[string]familyAction `json:"actions"`
	Objects map[string]familyObject `json:"objects"`
}

type familyAction struct {
	Document string `json:"document"`
	Name     string `json:"name"`
	Input    string `json:"input"`
	Output   string `json:"output"`
}

type familyObject struct {
	Document string         `json:"document"`
	Members  []familyMember `json:"members"`
}

type familyMember struct {
	Name     string `json:"name"`
	Member   string `json:"member"` // element or object type
	Type     string `json:"type"`   // string, int, bool, float, list, object
	Required bool   `json:"required"`
	Nullable bool   `json:"value_allowed_null"`
	Document string `json:"document"`
}

// defaultRateLimit applies where the definitions state none.
const defaultRateLimit = 20

// loadFamily reads a family file and converts it to a Spec. seed, when
// given, is the extracted reference of some of its actions: their error
// codes and rate limits are taken from it.
func loadFamily(path string, seed *Spec) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f family
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Spec{Service: f.Service, Version: f.Version}
	seeded := map[string]Action{}
	if seed != nil {
		for _, a := range seed.Actions {
			seeded[a.Name] = a
		}
		s.CommonErrors, s.ServiceErrors = seed.CommonErrors, seed.ServiceErrors
	}
	for name, a := range f.Actions {
		act := Action{Name: name, Title: a.Name, RateLimit: defaultRateLimit, Description: a.Document,
			Inputs: members(f.Objects[a.Input].Members), Outputs: outputs(f.Objects[a.Output].Members)}
		if sa, ok := seeded[name]; ok {
			act.Errors, act.RateLimit = sa.Errors, sa.RateLimit
		}
		s.Actions = append(s.Actions, act)
	}
	for name, o := range f.Objects {
		if strings.HasSuffix(name, "Request") || strings.HasSuffix(name, "Response") {
			continue
		}
		s.DataTypes = append(s.DataTypes, DataType{Name: name, Description: o.Document, Fields: members(o.Members)})
	}
	sort.Slice(s.Actions, func(i, j int) bool { return s.Actions[i].Name < s.Actions[j].Name })
	sort.Slice(s.DataTypes, func(i, j int) bool { return s.DataTypes[i].Name < s.DataTypes[j].Name })
	return s, nil
}

func outputs(ms []familyMember) []Param {
	var out []Param
	for _, p := range members(ms) {
		if p.Name != "RequestId" {
			out = append(out, p)
		}
	}
	return out
}

func members(ms []familyMember) []Param {
	out := make([]Param, 0, len(ms))
	for _, m := range ms {
		out = append(out, Param{Name: m.Name, Type: familyType(m), Required: m.Required, Nullable: m.Nullable, Description: m.Document})
	}
	return out
}

// familyType maps a member to the reference's type notation used by goType.
func familyType(m familyMember) string {
	elem := map[string]string{"string": "String", "int64": "Integer", "uint64": "Integer", "int": "Integer",
		"float": "Float", "double": "Float", "bool": "Boolean", "datetime_iso": "String", "datetime": "String"}[m.Member]
	if elem == "" {
		elem = m.Member // an object type
	}
	if m.Type == "list" {
		return "Array of " + elem
	}
	return elem
}
