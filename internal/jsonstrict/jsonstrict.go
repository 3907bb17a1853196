// Package jsonstrict reads the operator's JSON files (--accounts,
// --gaap-config) so that nothing in them is dropped silently: a mistyped
// member, or a second value after the first, is an error at start rather
// than a setting that does not apply.
package jsonstrict

import (
	"encoding/json"
	"errors"
	"io"
)

// Decode reads the one JSON value of r into v, refusing members v has no
// field for and anything but white space after the value.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
