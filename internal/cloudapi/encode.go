package cloudapi

import (
	"bytes"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// encodeResponse writes resp as a JSON object followed by "RequestId".
// The v2 encoder writes nil slices as [] (clients iterate over lists
// without nil checks). Responses carry lists under an old and a new name
// (InstanceSet and ProxySet, ...) that hold the same elements; a list
// already written under one name is copied, not encoded again, which
// halves the cost of the largest answers.
func encodeResponse(resp any, requestID string) ([]byte, error) {
	v := reflect.Indirect(reflect.ValueOf(resp))
	var buf bytes.Buffer
	enc := jsontext.NewEncoder(&buf)
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return nil, err
	}
	written := map[[2]uintptr]jsontext.Value{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if err := enc.WriteToken(jsontext.String(name)); err != nil {
			return nil, err
		}
		if err := encodeField(enc, v.Field(i), written); err != nil {
			return nil, err
		}
	}
	if err := enc.WriteToken(jsontext.String("RequestId")); err != nil {
		return nil, err
	}
	if err := enc.WriteToken(jsontext.String(requestID)); err != nil {
		return nil, err
	}
	if err := enc.WriteToken(jsontext.EndObject); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeField(enc *jsontext.Encoder, fv reflect.Value, written map[[2]uintptr]jsontext.Value) error {
	if fv.Kind() != reflect.Slice || fv.Len() == 0 {
		return jsonv2.MarshalEncode(enc, fv.Interface())
	}
	key := [2]uintptr{fv.Pointer(), uintptr(fv.Len())}
	if raw, ok := written[key]; ok {
		return enc.WriteValue(raw)
	}
	raw, err := jsonv2.Marshal(fv.Interface())
	if err != nil {
		return err
	}
	written[key] = raw
	return enc.WriteValue(raw)
}
