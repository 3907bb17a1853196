package params

import "github.com/opengaap/opengaap/internal/apierr"

// maxJSONDepth is encoding/json's own nesting limit: deeper input is
// refused by the decoder, so the counts need not look further.
const maxJSONDepth = 10000

// maxParams is the most parameters a form (query or x-www-form-urlencoded
// body) can carry: url.ParseQuery, which parses it (request.go), refuses
// more than 10000. Each parameter is one leaf of the tree.
const maxParams = 10000

// maxNameSegments bounds the segments of a flattened name that binds to a
// request ("Filters.0.Values.1" has 4): the deepest request has 5
// (TestRequestDepth keeps this true as actions are added).
const maxNameSegments = 8

// maxValues bounds the values (scalars, arrays and objects below the
// root) of a JSON body. A form's tree has at most one value per segment
// of each parameter's name, so any form input that binds has at most
// maxParams*maxNameSegments of them, and its JSON form is accepted too.
const maxValues = maxParams * maxNameSegments

// checkSize refuses a JSON body with more than maxValues values, or an
// array of more than maxIndex+1 elements (the most a flattened parameter
// can number), before the decoder builds a tree of it: a 10 MB body of
// "[0,0,...]" or of "[[0,...],[0,...],...]" would otherwise become
// millions of interface values. It counts the starts of values, skipping
// strings; it does not validate, the decoder does that afterwards, so it
// only has to count correctly on valid JSON.
func checkSize(body []byte) error {
	type frame struct {
		array bool
		n     int // elements so far, in an array
	}
	var stack []frame
	values := 0
	// expect: the next significant byte starts a value (after '[', ':',
	// or ',' in an array); the root value is not counted.
	expect, inString, escaped := false, false, false
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if expect && c != ']' {
			expect = false
			if values++; values > maxValues {
				return apierr.New(apierr.InvalidParameter, "the request body has more than %d values (arrays, objects and scalars together)", maxValues)
			}
			if n := len(stack); n > 0 && stack[n-1].array {
				if stack[n-1].n++; stack[n-1].n > maxIndex+1 {
					return apierr.New(apierr.InvalidParameter, "an array in the request body has more than %d elements", maxIndex+1)
				}
			}
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if len(stack) == maxJSONDepth {
				return nil // The decoder refuses it.
			}
			stack = append(stack, frame{array: c == '['})
			expect = c == '['
		case ']', '}':
			expect = false
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ':':
			expect = true
		case ',':
			expect = len(stack) > 0 && stack[len(stack)-1].array
		}
	}
	return nil
}
