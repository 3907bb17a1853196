package tag

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
)

// TestEveryActionRegistered: the endpoint serves exactly the actions of
// spec/tag-2018-08-13.json.
func TestEveryActionRegistered(t *testing.T) {
	b, err := os.ReadFile("../../spec/tag-2018-08-13.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct{ Actions []struct{ Name string } }
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range spec.Actions {
		want = append(want, a.Name)
	}
	got := (&Service{}).Register().Actions()
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("registered %v; the spec defines %v", got, want)
	}
}

func TestParseResource(t *testing.T) {
	r, err := ParseResource("qcs::gaap:ap-guangzhou:uin/:realServer/rs-12345678")
	if err != nil || r != (Resource{Region: "ap-guangzhou", Prefix: "realServer", ID: "rs-12345678"}) {
		t.Errorf("provider's form: %+v, %v", r, err)
	}
	r, err = ParseResource("qcs::gaap::uin/100000000001:domain/dm-12345678")
	if err != nil || r.Uin != "100000000001" || r.Prefix != "domain" {
		t.Errorf("with uin: %+v, %v", r, err)
	}
	for in, code := range map[string]apierr.Code{
		"": apierr.InvalidParameterValueResourceDescriptionError,
		"qcs:gaap:ap-guangzhou:uin/:proxy/link-1": apierr.InvalidParameterValueResourceDescriptionError,
		"arn::gaap:r:uin/:proxy/link-1":           apierr.InvalidParameterValueResourceDescriptionError,
		"qcs::gaap:r:uin/:proxy/":                 apierr.InvalidParameterValueResourceDescriptionError,
		"qcs::gaap:r:uin/:proxy":                  apierr.InvalidParameterValueResourceDescriptionError,
		"qcs::gaap:r:uid/:proxy/link-1":           apierr.InvalidParameterValueResourceDescriptionError,
		"qcs::cos:r:uid/:prefix/bucket":           apierr.InvalidParameterUnsupportedService,
		"qcs:::r:uin/:proxy/link-1":               apierr.InvalidParameterUnsupportedService,
		"qcs::gaap:r:uin/:Proxy/link-1":           apierr.InvalidParameterValueResourcePrefixInvalid,
	} {
		if _, err := ParseResource(in); !apierr.Is(err, code) {
			t.Errorf("ParseResource(%q) = %v; want %s", in, err, code)
		}
	}
}

func TestApply(t *testing.T) {
	tags := []model.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}}
	got := apply(tags, []model.Tag{{Key: "b", Value: "20"}, {Key: "d", Value: "4"}}, []model.Tag{{Key: "a"}, {Key: "zz"}})
	want := []model.Tag{{Key: "b", Value: "20"}, {Key: "c", Value: "3"}, {Key: "d", Value: "4"}}
	if !slices.Equal(got, want) {
		t.Errorf("apply = %v; want %v", got, want)
	}
	if tags[0].Key != "a" || tags[1].Value != "2" {
		t.Errorf("apply changed its input: %v", tags)
	}
}

// TestCheckChange: ModifyResourceTags holds what it adds to the tag limits,
// but an object tagged before they existed keeps its tags: they may take
// new values and be removed, and a count over 50 may shrink but not grow.
func TestCheckChange(t *testing.T) {
	many := make([]model.Tag, 60)
	for i := range many {
		many[i] = model.Tag{Key: fmt.Sprintf("k%d", i), Value: "v"}
	}
	old := append(slices.Clone(many[:49]), model.Tag{Key: "qcloud:owner", Value: "x"})
	tests := []struct {
		name            string
		stored          []model.Tag
		replace, remove []model.Tag
		ok              bool
	}{
		{"a 50th tag", many[:49], []model.Tag{{Key: "new", Value: "v"}}, nil, true},
		{"a 51st tag", many[:50], []model.Tag{{Key: "new", Value: "v"}}, nil, false},
		{"a new value at 50", many[:50], []model.Tag{{Key: "k3", Value: "w"}}, nil, true},
		{"a new value over 50", many, []model.Tag{{Key: "k3", Value: "w"}}, nil, true},
		{"removing over 50", many, nil, []model.Tag{{Key: "k3"}}, true},
		{"adding over 50", many, []model.Tag{{Key: "new", Value: "v"}}, nil, false},
		{"swapping over 50", many, []model.Tag{{Key: "new", Value: "v"}}, []model.Tag{{Key: "k3"}}, true},
		{"a stored reserved key's value", old, []model.Tag{{Key: "qcloud:owner", Value: "y"}}, nil, true},
		{"a new reserved key", old[:49], []model.Tag{{Key: "tencent:x", Value: "y"}}, nil, false},
		{"a value too long", old, []model.Tag{{Key: "qcloud:owner", Value: strings.Repeat("v", 128)}}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkChange(tc.stored, tc.replace, tc.remove)
			if tc.ok && err != nil {
				t.Errorf("checkChange: %v; want it allowed", err)
			}
			if !tc.ok && !apierr.Is(err, apierr.InvalidParameterValueInvalidTags) {
				t.Errorf("checkChange = %v; want InvalidParameterValue.InvalidTags", err)
			}
		})
	}
}
