package params

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"runtime"
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

// TestValueLimitSameInBothEncodings: a form at its limit (maxParams
// parameters, here of 4 segments each) binds in both encodings; the JSON
// value cap only refuses what no form can carry.
func TestValueLimitSameInBothEncodings(t *testing.T) {
	form := url.Values{}
	ol := make([]inner, 100)
	for i := range ol {
		ol[i].Values = make([]string, maxParams/len(ol))
		for j := range ol[i].Values {
			ol[i].Values[j] = "v"
			form.Set(fmt.Sprintf("OL.%d.Values.%d", i, j), "v")
		}
	}
	body, _ := json.Marshal(map[string]any{"OL": ol})
	if err := FromForm(form, &target{}); err != nil {
		t.Errorf("form of %d parameters: %v", len(form), err)
	}
	if err := FromJSON(body, &target{}); err != nil {
		t.Errorf("the same in JSON: %v", err)
	}
}

// TestNestedArraysRefusedBeforeDecoding: the cap is on the values of the
// whole body, not only per array: ~9 MB of 10001-element arrays inside an
// array is refused, before a tree of millions of values is built.
func TestNestedArraysRefusedBeforeDecoding(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`{"L":[`)
	for i := 0; b.Len() < 9<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j := range maxIndex + 1 {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('0')
		}
		b.WriteByte(']')
	}
	b.WriteString(`]}`)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	err := FromJSON(b.Bytes(), &target{})
	runtime.ReadMemStats(&m1)
	alloc := m1.TotalAlloc - m0.TotalAlloc
	if codeOf(err) != apierr.InvalidParameter || !strings.Contains(err.Error(), "values") {
		t.Errorf("nested arrays: %v; want InvalidParameter on the number of values", err)
	}
	if alloc > 16<<20 {
		t.Errorf("a %d MB body of nested arrays allocated %d MB before being refused", b.Len()>>20, alloc>>20)
	}
}

// TestCheckSizeCounts: the element and value counts are exact on valid
// JSON whatever strings, nesting and white space hold.
func TestCheckSizeCounts(t *testing.T) {
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
		// maxValues values: A's object, the empty arrays and "}" (names
		// and the root are not values).
		{`{"A":{"` + strings.Repeat(`k":[] , "`, maxValues-2) + `z" : "}"}}`, true},
		{`{"A":{"` + strings.Repeat(`k":[] , "`, maxValues-1) + `z" : "}"}}`, false},
		{`{"A":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]}`, true},
	} {
		if err := checkSize([]byte(c.body)); (err == nil) != c.ok {
			t.Errorf("%.60s...: %v; want ok %v", c.body, err, c.ok)
		}
	}
}
