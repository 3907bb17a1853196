package params

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

// TestArrayLimitSameInBothEncodings: both encodings accept and refuse the
// same inputs, the array cap included: a form array may number its
// elements 0 to maxIndex, so a JSON array may have maxIndex+1 elements and
// no more (it is counted before the decoder builds a tree of it).
func TestArrayLimitSameInBothEncodings(t *testing.T) {
	for _, n := range []int{maxIndex + 1, maxIndex + 2} {
		form := url.Values{}
		list := make([]int64, n)
		for i := range n {
			form.Set("L."+strconv.Itoa(i), "1")
		}
		body, _ := json.Marshal(map[string]any{"L": list, "OL": []inner{{Values: []string{"a,b", "]["}}}})
		formCode, jsonCode := codeOf(FromForm(form, &target{})), codeOf(FromJSON(body, &target{}))
		want := apierr.Code("")
		if n > maxIndex+1 {
			want = apierr.InvalidParameter
		}
		if formCode != want || jsonCode != want {
			t.Errorf("%d elements: form %q, JSON %q; want %q for both", n, formCode, jsonCode, want)
		}
	}
}

// TestCheckArraysCounts: the element count is exact on valid JSON whatever
// strings, nesting and white space hold.
func TestCheckArraysCounts(t *testing.T) {
	big := strings.Repeat(`"a\"],[",`, maxIndex) + `"x"` // maxIndex+1 strings full of brackets and commas
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"L":[` + big + `]}`, true},
		{`{"L":[` + big + `,"y"]}`, false},
		{`{"L":[[` + big + `], [` + big + `]]}`, true},
		{`{"L":[ ` + strings.Repeat(`{"a":1,"b":[1,2]} ,`, maxIndex) + `{}]}`, true},
		{`{"L":[ ` + strings.Repeat(`{"a":1,"b":[1,2]} ,`, maxIndex+1) + `{}]}`, false},
		{`{"L":[]}`, true},
		{`{"A":{"` + strings.Repeat(`k":1,"`, 3*maxIndex) + `z":1}}`, true}, // objects are not arrays
	} {
		if err := checkArrays([]byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%.60s...: %v; want ok %v", c.body, err, c.ok)
		}
	}
}
