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
