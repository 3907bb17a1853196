package cloudapi

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
)

// encodeResponse writes the envelope {"Response": {<fields of resp>,
// "RequestId": requestID}}.
// The v2 encoder writes nil slices as [] (clients iterate over lists
// without nil checks). Responses carry lists under an old and a new name
// (InstanceSet and ProxySet, ...) that hold the same elements; a list
// already written under one name is copied, not encoded again, which
// halves the cost of the largest answers. Field names and the RequestId
// are identifiers and UUIDs, so they are written without escaping.
func encodeResponse(resp any, requestID string) ([]byte, error) {
	v := reflect.Indirect(reflect.ValueOf(resp))
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the answer is %T, not a response struct", resp)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"Response":{`)
	written := map[[2]uintptr][]byte{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		raw, err := encodeField(v.Field(i), written)
		if err != nil {
			return nil, err
		}
		buf.WriteByte('"')
		buf.WriteString(name)
		buf.WriteString(`":`)
		buf.Write(raw)
		buf.WriteByte(',')
	}
	buf.WriteString(`"RequestId":"`)
	buf.WriteString(requestID)
	buf.WriteString(`"}}`)
	return buf.Bytes(), nil
}

func encodeField(fv reflect.Value, written map[[2]uintptr][]byte) ([]byte, error) {
	if fv.Kind() != reflect.Slice || fv.Len() == 0 {
		return jsonv2.Marshal(fv.Interface())
	}
	key := [2]uintptr{fv.Pointer(), uintptr(fv.Len())}
	if raw, ok := written[key]; ok {
		return raw, nil
	}
	raw, err := jsonv2.Marshal(fv.Interface())
	written[key] = raw
	return raw, err
}
