// Package params decodes action parameters into the generated request
// structs. JSON bodies (signature v3) and flattened query or form values
// (signature v1, "Filters.0.Values.1=x") are first turned into the same tree
// and then bound by one reflective binder, so both encodings accept and
// refuse exactly the same inputs.
package params

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/opengaap/opengaap/internal/apierr"
)

// FromJSON decodes a JSON object into dst, a pointer to a request struct.
// An empty body means no parameters.
func FromJSON(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return bind(reflect.ValueOf(dst), map[string]any{}, "", false)
	}
	if err := checkSize(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return apierr.New(apierr.InvalidParameter, "the request body is not valid JSON: %v", jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.New(apierr.InvalidParameter, "the request body has data after its JSON object")
	}
	if _, ok := tree.(map[string]any); !ok {
		return apierr.New(apierr.InvalidParameter, "the request body must be a JSON object")
	}
	if err := checkNames(body); err != nil {
		return err
	}
	return bind(reflect.ValueOf(dst), tree, "", false)
}

// FromForm decodes flattened parameters into dst. The caller removes the
// common parameters (Action, Version, Signature, ...) first.
func FromForm(values url.Values, dst any) error {
	tree, err := unflatten(values)
	if err != nil {
		return err
	}
	return bind(reflect.ValueOf(dst), tree, "", true)
}

// checkNames refuses a name given twice in one object of body (valid
// JSON), at any depth: encoding/json keeps the last silently, so what
// inspected the body on its way (an audit log, a firewall) could have read
// another call than the one served. A form refuses a repeated parameter
// (unflatten) for the same reason.
func checkNames(body []byte) error {
	err := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true)).SkipValue()
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		return apierr.New(apierr.InvalidParameter, "the parameter %s is given twice", flatName(syn.JSONPointer))
	}
	if err != nil { // encoding/json took it: not expected.
		return apierr.New(apierr.InvalidParameter, "the request body is not valid JSON: %v", err)
	}
	return nil
}

// flatName is a JSON pointer ("/Filters/0/Values") as the flattened name
// of the parameter ("Filters.0.Values").
func flatName(p jsontext.Pointer) string {
	return strings.Join(slices.Collect(p.Tokens()), ".")
}

func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syn.Error()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of input"
	}
	return "malformed input"
}
