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
	"unicode/utf8"

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

// bind stores node into v. Form values arrive as strings, so both modes
// accept booleans and integers written as strings (toBool, toInt), as the
// API reference's own examples quote integers.
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
			p := path + "." + strconv.Itoa(i)
			if item == nil { // Absent is for an object's member: an element has a place.
				return apierr.New(apierr.InvalidParameter, "the parameter %s is null; an array holds values", p)
			}
			if err := bind(s.Index(i), item, p, form); err != nil {
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
		if form && !utf8.ValidString(s) {
			// Requests are UTF-8; encoding/json turns each byte that is
			// not into U+FFFD, and so does a conversion to runes, so a
			// form call stores and matches what its JSON twin would.
			s = string([]rune(s))
		}
		v.SetString(s)
		return nil
	case reflect.Int64, reflect.Int:
		n, err := toInt(node, path, "an integer")
		if err != nil {
			return err
		}
		v.SetInt(n)
		return nil
	case reflect.Uint64:
		n, err := toInt(node, path, "a non-negative integer")
		if err != nil {
			return err
		}
		if n < 0 {
			return typeError(path, "a non-negative integer")
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
		b, ok := toBool(node)
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

// toInt converts an integer parameter: a JSON number that is a whole
// number however it is written, or a string of decimal digits, as the API
// reference's own examples quote integers. A whole number beyond int64,
// which the SDKs' unsigned fields can send, is a value out of range, not a
// value of the wrong type.
func toInt(node any, path, want string) (int64, error) {
	var (
		n              int64
		whole, inRange bool
	)
	text, _ := numberText(node)
	switch node.(type) {
	case json.Number:
		n, whole, inRange = wholeNumber(text)
	case string:
		var err error
		n, err = strconv.ParseInt(text, 10, 64)
		whole, inRange = err == nil || errors.Is(err, strconv.ErrRange), err == nil
	}
	if !whole {
		return 0, typeError(path, want)
	}
	if !inRange {
		return 0, apierr.New(apierr.InvalidParameterValue, "the parameter %s is out of range: %s", path, text)
	}
	return n, nil
}

// wholeNumber reads the text of a JSON number exactly: whether it is a
// whole number (1e3, 20.0 and 120e-1 are: JSON writers holding integers
// as doubles print them so) and, if it is, whether it fits int64. It
// works on the digits: through float64, values above 2^53 are inexact and
// 1.0000000000000000000001 would pass for 1, and big.Rat would compute
// 10^exponent for an exponent the client chooses.
func wholeNumber(s string) (n int64, whole, inRange bool) {
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = "-", rest
	}
	mantissa, expText := s, "0"
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, expText = s[:i], s[i+1:]
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, true, true // zero, whatever its exponent
	}
	// An exponent past ±2^40 dwarfs any count of digits a body can hold
	// (and keeps the sums below from wrapping): the value is astronomically
	// large, or a non-zero fraction.
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || exp > 1<<40 || exp < -1<<40 {
		return 0, !strings.HasPrefix(expText, "-"), false
	}
	// The value is digits × 10^exp; trailing zeros move into exp.
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits)-len(trimmed)) - int64(len(frac))
	digits = trimmed
	switch {
	case exp < 0:
		return 0, false, false // its last digit is a non-zero fraction
	case int64(len(digits))+exp > 19: // at least 10^19 > MaxInt64
		return 0, true, false
	}
	n, err = strconv.ParseInt(sign+digits+strings.Repeat("0", int(exp)), 10, 64)
	return n, true, err == nil
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

func toFloat(node any) (float64, bool) {
	s, ok := numberText(node)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// toBool converts a boolean parameter: a JSON boolean, or a string as
// strconv.ParseBool reads it, in both encodings: official SDKs write a
// boolean in a form as "True" (Python) or "1" (PHP), and a JSON string
// takes the same spellings, so that both encodings accept the same inputs.
func toBool(node any) (bool, bool) {
	switch b := node.(type) {
	case bool:
		return b, true
	case string:
		v, err := strconv.ParseBool(b)
		return v, err == nil
	}
	return false, false
}
