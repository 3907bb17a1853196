package params

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/opengaap/opengaap/internal/apierr"
)

// fieldIndex maps wire names to struct field indices, cached per type.
var fieldIndex sync.Map // reflect.Type -> map[string]int

func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldIndex.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" && f.IsExported() {
			m[name] = i
		}
	}
	fieldIndex.Store(t, m)
	return m
}

// bind stores node into v. Form values arrive as strings, so form mode
// also converts "true"/"false" for booleans; both modes accept integers
// written as strings of digits, as the API reference's own examples do.
func bind(v reflect.Value, node any, path string, form bool) error {
	if node == nil { // JSON null: the parameter is treated as absent
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return bind(v.Elem(), node, path, form)
	case reflect.Struct:
		return bindStruct(v, node, path, form)
	case reflect.Slice:
		list, ok := node.([]any)
		if !ok {
			return typeError(path, "an array")
		}
		s := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, item := range list {
			if err := bind(s.Index(i), item, path+"."+strconv.Itoa(i), form); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		s, ok := node.(string)
		if !ok {
			return typeError(path, "a string")
		}
		v.SetString(s)
		return nil
	case reflect.Int64, reflect.Int:
		n, ok := toInt(node)
		if !ok {
			return intError(path, node, "an integer")
		}
		v.SetInt(n)
		return nil
	case reflect.Uint64:
		n, ok := toInt(node)
		if !ok || n < 0 {
			return intError(path, node, "a non-negative integer")
		}
		v.SetUint(uint64(n))
		return nil
	case reflect.Float64:
		f, ok := toFloat(node)
		if !ok {
			return typeError(path, "a number")
		}
		v.SetFloat(f)
		return nil
	case reflect.Bool:
		b, ok := toBool(node, form)
		if !ok {
			return typeError(path, "a boolean")
		}
		v.SetBool(b)
		return nil
	}
	return apierr.New(apierr.InternalError, "parameter %s has an unsupported type", path)
}

func bindStruct(v reflect.Value, node any, path string, form bool) error {
	m, ok := node.(map[string]any)
	if !ok {
		return typeError(path, "an object")
	}
	fields := fieldsOf(v.Type())
	prefix := ""
	if path != "" {
		prefix = path + "."
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names) // the first error reported must not depend on map order
	for _, name := range names {
		child := m[name]
		i, ok := fields[name]
		if !ok {
			return apierr.New(apierr.UnknownParameter, "the parameter %s is not recognized", prefix+name)
		}
		if err := bind(v.Field(i), child, prefix+name, form); err != nil {
			return err
		}
	}
	return nil
}

func typeError(path, want string) error {
	return apierr.New(apierr.InvalidParameter, "the parameter %s must be %s", path, want)
}

// intError is typeError for an integer parameter, except that an integer
// too large for any of the API's ranges is a value out of range, not a
// value of the wrong type.
func intError(path string, node any, want string) error {
	if s, ok := numberText(node); ok {
		if _, err := strconv.ParseInt(s, 10, 64); errors.Is(err, strconv.ErrRange) {
			return apierr.New(apierr.InvalidParameterValue, "the parameter %s is out of range: %s", path, s)
		}
	}
	return typeError(path, want)
}

// numberText is the text of a number given as a JSON number or a string.
func numberText(node any) (string, bool) {
	switch n := node.(type) {
	case json.Number:
		return n.String(), true
	case string:
		return strings.TrimSpace(n), true
	}
	return "", false
}

func toInt(node any) (int64, bool) {
	s, ok := numberText(node)
	if !ok {
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	// JSON writers may print whole numbers as 1e3 or 20.0.
	f, err := strconv.ParseFloat(s, 64)
	if _, isNum := node.(json.Number); !isNum || err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func toFloat(node any) (float64, bool) {
	s, ok := numberText(node)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func toBool(node any, form bool) (bool, bool) {
	switch b := node.(type) {
	case bool:
		return b, true
	case string:
		if form || b == "true" || b == "false" {
			v, err := strconv.ParseBool(b)
			return v, err == nil
		}
	}
	return false, false
}
