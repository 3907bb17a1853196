package main

import (
	"bytes"
	"fmt"
	"strings"
)

const (
	cloudapiPkg = "github.com/opengaap/opengaap/internal/cloudapi"
	apierrPkg   = "github.com/opengaap/opengaap/internal/apierr"
)

// genAPI writes a service's wire types, API interface, action table,
// Register function and Validate methods.
func genAPI(buf *bytes.Buffer, pkg string, s *Spec) {
	header(buf, pkg)
	fmt.Fprintf(buf, "import (\n\t\"context\"\n\n\t%q\n\t%q\n)\n\n", apierrPkg, cloudapiPkg)
	fmt.Fprintf(buf, "// Service and Version identify the API these types belong to.\nconst (\n\tService = %q\n\tVersion = %q\n)\n\n", s.Service, s.Version)
	types := map[string]DataType{}
	for _, t := range s.DataTypes {
		types[t.Name] = t
		writeStruct(buf, t.Name, t.Description, t.Fields)
	}
	for _, a := range s.Actions {
		writeStruct(buf, a.Name+"Request", "the parameters of "+a.Name+". "+a.Title, a.Inputs)
		writeStruct(buf, a.Name+"Response", "the result of "+a.Name+".", a.Outputs)
	}
	needsValidate := validatedTypes(s, types)
	for _, t := range s.DataTypes {
		if needsValidate[t.Name] {
			writeValidate(buf, t.Name, "validate(path string)", t.Fields, needsValidate)
		}
	}
	for _, a := range s.Actions {
		writeValidate(buf, a.Name+"Request", "Validate()", a.Inputs, needsValidate)
	}
	writeInterface(buf, s)
}

func writeStruct(buf *bytes.Buffer, name, doc string, fields []Param) {
	fmt.Fprintf(buf, "// %s is %s\ntype %s struct {\n", name, strings.TrimSuffix(firstLine(doc), "。"), name)
	for _, f := range fields {
		if d := firstLine(f.Description); d != "" {
			fmt.Fprintf(buf, "\t// %s\n", d)
		}
		fmt.Fprintf(buf, "\t%s %s `json:\"%s\"`\n", f.Name, goType(f.Type), f.Name)
	}
	buf.WriteString("}\n\n")
}

// validatedTypes finds the structures that have required members, directly
// or through a nested structure, so that Validate can descend into them.
func validatedTypes(s *Spec, types map[string]DataType) map[string]bool {
	need := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, t := range s.DataTypes {
			if need[t.Name] {
				continue
			}
			for _, f := range t.Fields {
				if ignoredInput(f) {
					continue
				}
				if f.Required || need[elemType(f.Type)] {
					need[t.Name], changed = true, true
					break
				}
			}
		}
	}
	return need
}

func elemType(t string) string { return strings.TrimPrefix(t, "Array of ") }

// ignoredInput reports whether f's document says the service ignores it
// in requests (teo's L4ProxyRule.RemoteAuth: "如有传此参数，会忽略"):
// a partial value a client echoes back from a Describe must not be
// refused for a missing member.
func ignoredInput(f Param) bool { return strings.Contains(f.Description, "会忽略") }

func writeValidate(buf *bytes.Buffer, name, sig string, fields []Param, need map[string]bool) {
	fmt.Fprintf(buf, "func (r *%s) %s error {\n", name, sig)
	if !strings.HasPrefix(sig, "validate") {
		buf.WriteString("\tconst path = \"\"\n")
	}
	for _, f := range fields {
		if ignoredInput(f) {
			continue
		}
		if f.Required {
			fmt.Fprintf(buf, "\tif r.%s == nil {\n\t\treturn cloudapi.Missing(path + %q)\n\t}\n", f.Name, f.Name)
		}
		if !need[elemType(f.Type)] {
			continue
		}
		if strings.HasPrefix(f.Type, "Array of ") {
			fmt.Fprintf(buf, "\tfor i := range r.%s {\n\t\tif err := r.%s[i].validate(cloudapi.Index(path+%q, i)); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n", f.Name, f.Name, f.Name)
		} else {
			fmt.Fprintf(buf, "\tif r.%s != nil {\n\t\tif err := r.%s.validate(path + %q + \".\"); err != nil {\n\t\t\treturn err\n\t\t}\n\t}\n", f.Name, f.Name, f.Name)
		}
	}
	buf.WriteString("\treturn nil\n}\n\n")
}

func writeInterface(buf *bytes.Buffer, s *Spec) {
	buf.WriteString("// API is implemented by the service; a missing action fails the build.\ntype API interface {\n")
	for _, a := range s.Actions {
		fmt.Fprintf(buf, "\t%s(ctx context.Context, call *cloudapi.Call, req *%sRequest) (*%sResponse, error)\n", a.Name, a.Name, a.Name)
	}
	buf.WriteString("}\n\n// Actions is the documented action table.\nvar Actions = map[string]cloudapi.ActionInfo{\n")
	for _, a := range s.Actions {
		fmt.Fprintf(buf, "\t%q: {Name: %q, RateLimit: %d, Deprecated: %v, Errors: []apierr.Code{", a.Name, a.Name, a.RateLimit, a.Deprecated)
		for i, e := range a.Errors {
			if i > 0 {
				buf.WriteString(", ")
			}
			fmt.Fprintf(buf, "apierr.%s", codeIdent(e.Code))
		}
		buf.WriteString("}},\n")
	}
	buf.WriteString("}\n\n// Register adds every action of api to svc.\nfunc Register(svc *cloudapi.Service, api API) {\n")
	for _, a := range s.Actions {
		fmt.Fprintf(buf, "\tcloudapi.Handle(svc, Actions[%q], api.%s)\n", a.Name, a.Name)
	}
	buf.WriteString("}\n")
}
