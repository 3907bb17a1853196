package params_test

import (
	"reflect"
	"testing"

	"github.com/opengaap/opengaap/internal/cloudapi/params"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/tag/tagapi"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// TestRequestDepth: no request of any service has a flattened name of more
// than MaxNameSegments segments, which the JSON value cap assumes to
// accept whatever a form can carry.
func TestRequestDepth(t *testing.T) {
	for _, api := range []reflect.Type{reflect.TypeFor[gaapapi.API](), reflect.TypeFor[vpcapi.API](),
		reflect.TypeFor[teoapi.API](), reflect.TypeFor[tagapi.API]()} {
		for i := range api.NumMethod() {
			m := api.Method(i)
			if n := nameSegments(m.Type.In(2), map[reflect.Type]bool{}); n > params.MaxNameSegments {
				t.Errorf("%s: a parameter name of %d segments; the JSON value cap assumes at most %d", m.Name, n, params.MaxNameSegments)
			}
		}
	}
}

// nameSegments is the most segments a flattened name binding into t has.
func nameSegments(t reflect.Type, seen map[reflect.Type]bool) int {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		return 1 + nameSegments(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return 1 << 20 // recursive: unbounded
		}
		seen[t] = true
		defer delete(seen, t)
		n := 0
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				n = max(n, 1+nameSegments(f.Type, seen))
			}
		}
		return n
	}
	return 0
}
