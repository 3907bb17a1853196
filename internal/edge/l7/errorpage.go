package l7

import (
	"net/http"
	"strconv"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// writeError answers status, through the domain's error page for it if
// there is one (also for the edge's own 401, 404, 502 and 504).
func (v *vhost) writeError(w http.ResponseWriter, status int) {
	p := v.pages[status]
	if p == nil {
		http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if s := applyPage(h, p); s != 0 {
		status = s
	}
	h.Set("Content-Length", strconv.Itoa(len(p.Body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(p.Body))
}

// applyPage clears and sets the page's headers and returns the status to
// send instead (0 = keep).
func applyPage(h http.Header, p *snapshot.ErrorPage) int {
	for _, k := range p.ClearHeaders {
		h.Del(k)
	}
	for _, kv := range p.SetHeaders {
		h.Set(kv.Name, kv.Value)
	}
	return p.NewErrorNo
}
