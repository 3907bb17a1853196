package params

import (
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
	{"huge int", `{"I":1e300}`, apierr.InvalidParameter},
	// An integer beyond int64 (the SDKs' uint64 allows it) is out of
	// range, not of the wrong type.
	{"int past int64", `{"U":18446744073709551615}`, apierr.InvalidParameterValue},
	{"negative int past int64", `{"I":-99999999999999999999}`, apierr.InvalidParameterValue},
	{"bad bool", `{"B":"maybe"}`, apierr.InvalidParameter},
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
	{"too many segments", url.Values{"O" + strings.Repeat(".a", maxNameSegments): {"x"}}, apierr.InvalidParameter},
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
