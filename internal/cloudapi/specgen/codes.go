package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// genCodes writes one constant per documented error code, and the
// documented Chinese descriptions used for zh-CN messages.
func genCodes(buf *bytes.Buffer, specs []*Spec) {
	header(buf, "apierr")
	desc := map[string]string{}
	for _, s := range specs {
		for _, list := range [][]ErrorCode{s.CommonErrors, s.ServiceErrors} {
			for _, e := range list {
				desc[e.Code] = e.Description
			}
		}
		for _, a := range s.Actions {
			for _, e := range a.Errors {
				if _, ok := desc[e.Code]; !ok {
					desc[e.Code] = e.Description
				}
			}
		}
	}
	codes := make([]string, 0, len(desc))
	for c := range desc {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	buf.WriteString("// Documented error codes.\nconst (\n")
	for _, c := range codes {
		fmt.Fprintf(buf, "\t%s Code = %q\n", codeIdent(c), c)
	}
	buf.WriteString(")\n\nvar descriptionsZh = map[Code]string{\n")
	for _, c := range codes {
		fmt.Fprintf(buf, "\t%s: %q,\n", codeIdent(c), desc[c])
	}
	buf.WriteString("}\n")
}

// codeIdent turns "FailedOperation.ActionIsDoing" into FailedOperationActionIsDoing.
func codeIdent(code string) string {
	return strings.NewReplacer(".", "", "-", "_").Replace(code)
}
