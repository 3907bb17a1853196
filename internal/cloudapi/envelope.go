package cloudapi

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/opengaap/opengaap/internal/apierr"
)

// newRequestID returns a random UUID (version 4), Tencent's RequestId format.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type errorBody struct {
	Response struct {
		Error struct {
			Code    apierr.Code
			Message string
		}
		RequestId string
	}
}

func writeError(w http.ResponseWriter, requestID, lang string, e *apierr.Error) {
	var b errorBody
	b.Response.Error.Code = e.Code
	b.Response.Error.Message = e.Localize(lang)
	b.Response.RequestId = requestID
	body, _ := json.Marshal(b)
	send(w, body)
}

func send(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK) // Tencent answers 200 even for errors; SDKs rely on it
	w.Write(body)
}
