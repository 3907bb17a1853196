package gaap_test

import (
	"strings"
	"testing"
	"time"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/xtest"
)

// TestCorruptPEMBlockRefused: a CA bundle or chain with a damaged block
// (broken base64 in the middle, or the last block cut off before its END
// line) was accepted: pem.Decode passes over such a block, so the
// certificate was stored and never used (a CA's clients refused, a chain
// served without its intermediate). OpenSSL refuses such a file; so does
// CreateCertificate, with InvalidCertificateContent.
func TestCorruptPEMBlockRefused(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	_, otherCADER, _ := testCA(t, "Second CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	second := pemOf("CERTIFICATE", otherCADER)
	// Break one base64 character in the middle of the second CA's body.
	lines := strings.Split(second, "\n")
	lines[2] = "!" + lines[2][1:]
	corrupt := strings.Join(lines, "\n")
	truncated := strings.Join(strings.Split(second, "\n")[:4], "\n") + "\n" // no END line

	for _, tc := range []struct {
		name         string
		typ          int64
		content, key string
	}{
		{"client CA bundle with a corrupt middle block", 1, p.caPEM + corrupt + p.caPEM, ""},
		{"origin CA bundle whose last block is cut off", 3, p.caPEM + truncated, ""},
		{"server chain whose intermediate is cut off", 2, p.leafPEM + truncated, p.leafKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := gaapsdk.NewCreateCertificateRequest()
			req.CertificateType, req.CertificateContent = new(tc.typ), new(tc.content)
			if tc.key != "" {
				req.CertificateKey = new(tc.key)
			}
			resp, err := c.CreateCertificate(req)
			if err == nil {
				t.Fatalf("CreateCertificate accepted %s (stored as %s); want InvalidParameterValue.InvalidCertificateContent: the damaged certificate is silently dropped", tc.name, *resp.Response.CertificateId)
			}
			wantCode(t, err, "InvalidParameterValue.InvalidCertificateContent")
		})
	}
}
