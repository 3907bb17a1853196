package params

import "github.com/opengaap/opengaap/internal/apierr"

// maxJSONDepth is encoding/json's own nesting limit: deeper input is
// refused by the decoder, so the element count need not look further.
const maxJSONDepth = 10000

// checkArrays refuses a JSON body with an array of more than maxIndex+1
// elements, the most a flattened (form) parameter can number, before the
// decoder builds a tree of it: a 10 MB body of "[0,0,...]" would otherwise
// become millions of interface values. It counts the commas directly
// inside each array, skipping strings; it does not validate, the decoder
// does that afterwards, so it only has to count correctly on valid JSON.
func checkArrays(body []byte) error {
	var counts []int // per open bracket: -1 for an object, else elements so far
	inString, escaped := false, false
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
		case '"':
			inString = true
			fallthrough
		default:
			// The first byte of an array's first element.
			if n := len(counts); n > 0 && counts[n-1] == 0 && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ']' {
				counts[n-1] = 1
			}
		case '[', '{':
			if n := len(counts); n > 0 && counts[n-1] == 0 {
				counts[n-1] = 1
			}
			if len(counts) == maxJSONDepth {
				return nil // The decoder refuses it.
			}
			if c == '[' {
				counts = append(counts, 0)
			} else {
				counts = append(counts, -1)
			}
		case ']', '}':
			if len(counts) > 0 {
				counts = counts[:len(counts)-1]
			}
		case ',':
			if n := len(counts); n > 0 && counts[n-1] > 0 {
				if counts[n-1]++; counts[n-1] > maxIndex+1 {
					return apierr.New(apierr.InvalidParameter, "an array in the request body has more than %d elements", maxIndex+1)
				}
			}
		}
	}
	return nil
}
