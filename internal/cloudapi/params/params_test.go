package params

import (
	"math"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
)

type inner struct {
	Name   *string  `json:"Name"`
	Values []string `json:"Values"`
}

type target struct {
	S  *string  `json:"S"`
	I  *int64   `json:"I"`
	U  *uint64  `json:"U"`
	F  *float64 `json:"F"`
	B  *bool    `json:"B"`
	L  []int64  `json:"L"`
	O  *inner   `json:"O"`
	OL []inner  `json:"OL"`
}

var jsonCases = []struct {
	name, body string
	code       apierr.Code // "" = success
}{
	{"empty", ``, ""},
	{"all types", `{"S":"x","I":-3,"U":"4","F":1.5,"B":true,"L":[1,"2"],"O":{"Name":"n","Values":["a"]},"OL":[{"Name":"m"}]}`, ""},
	{"null is absent", `{"S":null}`, ""},
	{"unknown", `{"Z":1}`, apierr.UnknownParameter},
	{"nested unknown", `{"OL":[{"Nope":1}]}`, apierr.UnknownParameter},
	{"string for int", `{"I":"x"}`, apierr.InvalidParameter},
	{"number for string", `{"S":1}`, apierr.InvalidParameter},
	{"negative uint", `{"U":-1}`, apierr.InvalidParameter},
	{"object for list", `{"L":{}}`, apierr.InvalidParameter},
	{"trailing data", `{} {}`, apierr.InvalidParameter},
	{"fraction for int", `{"I":1.5}`, apierr.InvalidParameter},
	{"tiny fraction for int", `{"I":1.0000000000000000000001}`, apierr.InvalidParameter},
	{"fraction in exponent form", `{"I":15e-1}`, apierr.InvalidParameter},
	{"huge exponent", `{"I":1e99999999999999999999}`, apierr.InvalidParameterValue},
	{"exponent near int64", `{"I":10e9223372036854775807}`, apierr.InvalidParameterValue},
	{"huge negative exponent", `{"I":1e-99999999999999999999}`, apierr.InvalidParameter},
	{"zero in exponent form", `{"I":0e99999999999999999999}`, ""},
	{"exponent string for int", `{"I":"1e3"}`, apierr.InvalidParameter},
	{"huge int", `{"I":1e300}`, apierr.InvalidParameterValue},
	// An integer beyond int64 (the SDKs' uint64 allows it) is out of
	// range, not of the wrong type.
	{"int past int64", `{"U":18446744073709551615}`, apierr.InvalidParameterValue},
	{"negative int past int64", `{"I":-99999999999999999999}`, apierr.InvalidParameterValue},
	{"bad bool", `{"B":"maybe"}`, apierr.InvalidParameter},
	{"bool as 1", `{"B":"1"}`, ""}, // As a form takes it (PHP's SDK writes 1).
	{"bool as True", `{"B":"True"}`, ""},
	// A name given twice (encoding/json kept the last silently), as a
	// form's repeated parameter; at any depth, escaped or not.
	{"repeated name", `{"S":"a","S":"b"}`, apierr.InvalidParameter},
	{"repeated nested name", `{"OL":[{"Name":"a","Name":"b"}]}`, apierr.InvalidParameter},
	{"repeated escaped name", `{"S":"a","\u0053":"b"}`, apierr.InvalidParameter},
	{"same name in two objects", `{"OL":[{"Name":"a"},{"Name":"b"}]}`, ""},
	// Null is absent for an object's member; an element has a place.
	{"null element", `{"L":[1,null]}`, apierr.InvalidParameter},
	{"null object element", `{"OL":[null]}`, apierr.InvalidParameter},
}

func TestFromJSON(t *testing.T) {
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			var dst target
			err := FromJSON([]byte(tc.body), &dst)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("got %q (%v); want %q", got, err, tc.code)
			}
		})
	}
	var dst target
	if err := FromJSON([]byte(jsonCases[1].body), &dst); err != nil || *dst.U != 4 || dst.L[1] != 2 || *dst.OL[0].Name != "m" {
		t.Fatalf("got %+v, %v; want decoded values", dst, err)
	}
}

var formCases = []struct {
	name string
	vals url.Values
	code apierr.Code
}{
	{"scalars", url.Values{"S": {"x"}, "I": {"5"}, "B": {"false"}}, ""},
	{"nested", url.Values{"OL.0.Name": {"a"}, "OL.0.Values.0": {"v"}, "OL.1.Name": {"b"}, "L.0": {"1"}}, ""},
	{"gap", url.Values{"L.1": {"1"}}, apierr.InvalidParameter},
	{"conflict", url.Values{"O": {"x"}, "O.Name": {"y"}}, apierr.InvalidParameter},
	{"repeated", url.Values{"S": {"a", "b"}}, apierr.InvalidParameter},
	{"empty segment", url.Values{"O..Name": {"y"}}, apierr.InvalidParameter},
	{"unknown", url.Values{"Q": {"1"}}, apierr.UnknownParameter},
	{"huge index", url.Values{"L.99999999": {"1"}}, apierr.InvalidParameter},
	{"int past int64", url.Values{"I": {"99999999999999999999"}}, apierr.InvalidParameterValue},
	// Booleans as official SDKs write them in a form: Python's True,
	// PHP's 1 and 0.
	{"bool as True", url.Values{"B": {"True"}}, ""},
	{"bool as 0", url.Values{"B": {"0"}}, ""},
	{"bad bool", url.Values{"B": {"maybe"}}, apierr.InvalidParameter},
	{"too many segments", url.Values{"O" + strings.Repeat(".a", maxNameSegments): {"x"}}, apierr.InvalidParameter},
}

// TestFromJSONWholeNumbers: a JSON number that is an exact integer is that
// integer however it is written (clients holding integers as doubles print
// 1e+18 or 20.0), and one beyond int64 is out of range whatever its
// spelling. It used to go through float64, refusing exact values above
// 2^53 as "must be an integer", and 1e20 got another code than
// 100000000000000000000.
func TestFromJSONWholeNumbers(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int64
	}{
		{"1e18", 1e18}, {"1E+18", 1e18}, {"20.0", 20}, {"-0.0", 0}, {"0.5e1", 5}, {"120e-1", 12},
		{"9223372036854775807", math.MaxInt64}, {"9.223372036854775807e18", math.MaxInt64},
		{"-9223372036854775808", math.MinInt64}, {"-92233720368547758080e-1", math.MinInt64},
	} {
		var dst target
		if err := FromJSON([]byte(`{"I":`+tc.text+`}`), &dst); err != nil || dst.I == nil || *dst.I != tc.want {
			t.Errorf("I %s: got %v, %v; want %d", tc.text, dst.I, err, tc.want)
		}
	}
	for _, text := range []string{"100000000000000000000", "1e20", "1.0e20", "9223372036854775808", "9.223372036854775808e18", "-9223372036854775809", "-1e19"} {
		if err := FromJSON([]byte(`{"I":`+text+`}`), &target{}); codeOf(err) != apierr.InvalidParameterValue {
			t.Errorf("I %s: got %v; want InvalidParameterValue (out of range)", text, err)
		}
	}
	var dst target
	if err := FromJSON([]byte(`{"U":1.8446744073709551615e19}`), &dst); codeOf(err) != apierr.InvalidParameterValue {
		t.Errorf("U 1.8446744073709551615e19: got %v; want InvalidParameterValue (out of range)", err)
	}
}

func TestFromForm(t *testing.T) {
	for _, tc := range formCases {
		t.Run(tc.name, func(t *testing.T) {
			var dst target
			err := FromForm(tc.vals, &dst)
			if got := codeOf(err); got != tc.code {
				t.Fatalf("got %q (%v); want %q", got, err, tc.code)
			}
		})
	}
}

// TestFromFormRefusesDeepNameCheaply: a name of 16001 segments
// ("Name.a.a.a...", a 32 KB GET query) is refused before a tree is built
// for it. Its decoding used to hold a path string per level, quadratic in
// the name's length: ~260 MB for this name, ~250 GB for a 1 MB v1 form body.
func TestFromFormRefusesDeepNameCheaply(t *testing.T) {
	name := "S" + strings.Repeat(".a", 16000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := FromForm(url.Values{name: {"x"}}, &target{})
	runtime.ReadMemStats(&after)
	if got := codeOf(err); got != apierr.InvalidParameter {
		t.Errorf("got %q (%v); want InvalidParameter", got, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("decoding one 32 KB parameter name allocated %d KB; want well under 1 MB", alloc>>10)
	}
}

func codeOf(err error) apierr.Code {
	if err == nil {
		return ""
	}
	return apierr.From(err).Code
}

func FuzzFromJSON(f *testing.F) {
	for _, tc := range jsonCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst target
		if err := FromJSON(body, &dst); err != nil && apierr.From(err).Code == apierr.InternalError {
			t.Fatalf("internal error for %q: %v", body, err)
		}
	})
}

func FuzzFromForm(f *testing.F) {
	for _, tc := range formCases {
		f.Add(tc.vals.Encode())
	}
	f.Fuzz(func(t *testing.T, query string) {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		var dst target
		if err := FromForm(vals, &dst); err != nil && apierr.From(err).Code == apierr.InternalError {
			t.Fatalf("internal error for %q: %v", query, err)
		}
	})
}

// TestRepeatedNameNamed: the error names the parameter given twice, as the
// form encoding's does.
func TestRepeatedNameNamed(t *testing.T) {
	err := FromJSON([]byte(`{"OL":[{"Name":"a"},{"Name":"b","Name":"c"}]}`), &target{})
	if codeOf(err) != apierr.InvalidParameter || !strings.Contains(err.Error(), "OL.1.Name") {
		t.Errorf("got %v; want InvalidParameter naming OL.1.Name", err)
	}
}
