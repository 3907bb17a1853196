package gaap_test

import (
	"net/url"
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

// TestCertificateUTF8BOM: a certificate and key saved by an editor that
// writes a UTF-8 byte-order mark first (Windows Notepad before 2019) are
// taken, as OpenSSL (and so nginx) takes them: the BOM stood before
// "-----BEGIN", which pem.Decode then did not find, and they were refused
// as no PEM certificate.
func TestCertificateUTF8BOM(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	const bom = "\ufeff"
	for _, tc := range []struct {
		name, content, key string
		typ                int64
	}{
		{"server certificate and key with BOM", bom + p.leafPEM, bom + p.leafKey, 2},
		{"server certificate with BOM, URL-encoded", url.PathEscape(bom + p.leafPEM), url.PathEscape(p.leafKey), 2},
		{"client CA with BOM", bom + p.caPEM, "", 1},
	} {
		req := gaapsdk.NewCreateCertificateRequest()
		req.CertificateType, req.CertificateContent = new(tc.typ), new(tc.content)
		if tc.key != "" {
			req.CertificateKey = new(tc.key)
		}
		if _, err := c.CreateCertificate(req); err != nil {
			t.Errorf("%s: %v; want it accepted (OpenSSL, and so nginx, skip a leading UTF-8 BOM)", tc.name, err)
		}
	}
}

// TestServerChainBounded: a server (or proxy) certificate's chain, sent
// whole in every handshake, is at most model.MaxChainDER: a leaf and 800
// copies of its CA (some 280 KB) was taken, its listener ran, and clients
// refused the handshake (Go over 256 KiB, OpenSSL over 100 KiB, HTTP/3
// over 64 KiB) while each sent an unauthenticated client that much. A CA
// bundle (type 1) of the same size is no handshake's and stays accepted.
func TestServerChainBounded(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	fat := p.leafPEM + strings.Repeat(p.caPEM, 800)
	req := gaapsdk.NewCreateCertificateRequest()
	req.CertificateType, req.CertificateContent, req.CertificateKey = new(int64(2)), new(fat), new(p.leafKey)
	_, err := c.CreateCertificate(req)
	wantCode(t, err, "InvalidParameterValue.InvalidCertificateContent")
	req = gaapsdk.NewCreateCertificateRequest()
	req.CertificateType, req.CertificateContent = new(int64(1)), new(strings.Repeat(p.caPEM, 800))
	if _, err := c.CreateCertificate(req); err != nil {
		t.Errorf("a CA bundle of 800 certificates: %v; want it taken", err)
	}
}
