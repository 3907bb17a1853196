// Package jsonstrict reads the operator's JSON files (--accounts,
// --gaap-config) so that nothing in them is dropped silently: a mistyped
// member, or a second value after the first, is an error at start rather
// than a setting that does not apply.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Decode reads the one JSON value of r into v, refusing members v has no
// field for, a member given twice in one object (encoding/json keeps the
// last, so the first would silently not apply; names compared without
// case, as it matches them to fields; a map's keys too, which the files
// read with it have none) and anything but white space after the value.
func Decode(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := checkShape(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkShape walks data's tokens: one value, then nothing, and no object
// naming a member twice.
func checkShape(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		names  []string
		key    bool // The next token of an object is a member name.
	}
	var stack []*frame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if values == 0 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			if values > 0 && len(stack) == 0 {
				return fmt.Errorf("data after the JSON value: %w", err)
			}
			return err
		}
		if len(stack) == 0 {
			if values++; values > 1 {
				return errors.New("data after the JSON value")
			}
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			name := tok.(string)
			// Folded as encoding/json matches names to fields ("ſecretId"
			// is SecretId); objects are small.
			if slices.ContainsFunc(top.names, func(o string) bool { return strings.EqualFold(o, name) }) {
				return fmt.Errorf("member %q given twice in one object", name)
			}
			top.names, top.key = append(top.names, name), false
			continue
		}
		if top != nil && top.object {
			top.key = true // This token is the member's value (or opens it).
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'), json.Delim('}'):
			stack = stack[:len(stack)-1]
		}
	}
}
