package gaap_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	sdkerrors "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestCertificateLifecycle(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)

	// The reference asks for URL-encoded content; plain PEM works too.
	server := createCert(t, c, 2, url.PathEscape(p.leafPEM), url.PathEscape(p.leafKey))
	basic := createCert(t, c, 0, "root:$apr1$x$y\nalice:FSGdT\nbob:{PLAIN}pw:ops-team", "") // nginx's name:hash:comment
	createCert(t, c, 1, p.caPEM, "")

	detailReq := gaapsdk.NewDescribeCertificateDetailRequest()
	detailReq.CertificateId = new(server)
	detail, err := c.DescribeCertificateDetail(detailReq)
	if err != nil {
		t.Fatal(err)
	}
	d := detail.Response.CertificateDetail
	if *d.CertificateKey != trimmed(p.leafKey) || *d.CertificateContent != trimmed(p.leafPEM) {
		t.Errorf("detail key/content do not round-trip")
	}
	if *d.SubjectCN != "example.com" || *d.IssuerCN != "Test CA" || int64(*d.EndTime) != p.notAfter.Unix() {
		t.Errorf("got subject %q issuer %q end %d; want example.com, Test CA, %d", *d.SubjectCN, *d.IssuerCN, *d.EndTime, p.notAfter.Unix())
	}

	list := func(typ int64) []*gaapsdk.Certificate {
		req := gaapsdk.NewDescribeCertificatesRequest()
		req.CertificateType = new(typ)
		resp, err := c.DescribeCertificates(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Response.CertificateSet
	}
	if got := len(list(-1)); got != 3 {
		t.Errorf("got %d certificates of all types; want 3", got)
	}
	if got := list(0); len(got) != 1 || *got[0].CertificateId != basic {
		t.Errorf("type 0 filter: got %d certificates; want only %s", len(got), basic)
	}

	modReq := gaapsdk.NewModifyCertificateAttributesRequest()
	modReq.CertificateId, modReq.CertificateAlias = new(server), new("renamed")
	if _, err := c.ModifyCertificateAttributes(modReq); err != nil {
		t.Fatal(err)
	}
	if got := list(2); *got[0].CertificateAlias != "renamed" || *got[0].CertificateName != "renamed" {
		t.Errorf("got alias %q; want renamed", *got[0].CertificateAlias)
	}
	modReq.CertificateAlias = new(string(make([]byte, 51)))
	_, err = c.ModifyCertificateAttributes(modReq)
	wantCode(t, err, "InvalidParameterValue")

	// Another account sees nothing and cannot delete.
	other := api.GAAP(xtest.Other)
	_, err = other.DescribeCertificateDetail(detailReq)
	wantCode(t, err, "ResourceNotFound")

	delReq := gaapsdk.NewDeleteCertificateRequest()
	delReq.CertificateId = new(basic)
	_, err = other.DeleteCertificate(delReq)
	wantCode(t, err, "ResourceNotFound")
	if _, err := c.DeleteCertificate(delReq); err != nil {
		t.Fatal(err)
	}
	if got := len(list(0)); got != 0 {
		t.Errorf("got %d basic-auth configurations after delete; want 0", got)
	}

	// Terraform's provider reads a certificate deleted outside it as gone
	// only on the Message "CertificateId not found", compared for equality
	// in the en-US it always asks for; zh-CN keeps the code's prefix.
	cpf := api.Profile()
	cpf.Language = "en-US"
	en, err := gaapsdk.NewClient(common.NewCredential(xtest.Root.SecretID, xtest.Root.SecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatal(err)
	}
	gone := gaapsdk.NewDescribeCertificateDetailRequest()
	gone.CertificateId = new(basic)
	for _, tc := range []struct {
		client *gaapsdk.Client
		want   string
	}{{en, "CertificateId not found"}, {c, "资源不存在。 CertificateId not found"}} {
		_, err = tc.client.DescribeCertificateDetail(gone)
		var e *sdkerrors.TencentCloudSDKError
		if !errors.As(err, &e) || e.Code != "ResourceNotFound" || e.Message != tc.want {
			t.Errorf("DescribeCertificateDetail of a deleted certificate: %v; want ResourceNotFound %q", err, tc.want)
		}
	}
}

func trimmed(s string) string { return s[:len(s)-1] } // PEM ends with one newline

func TestCreateCertificateInvalid(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	cases := []struct {
		name         string
		typ          int64
		content, key string
		code         string
	}{
		{"garbage content", 1, "not a certificate", "", "InvalidParameterValue.InvalidCertificateContent"},
		{"key block as content", 3, p.leafKey, "", "InvalidParameterValue.InvalidCertificateContent"},
		{"garbage key", 2, p.leafPEM, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "InvalidParameterValue.InvalidCertificateKey"},
		{"key of another certificate", 4, p.leafPEM, p.otherKey, "InvalidParameterValue.CertificateContentNotMatchKey"},
		{"key on a CA", 1, p.caPEM, p.leafKey, "InvalidParameterValue.InvalidCertificateKey"},
		{"missing key", 2, p.leafPEM, "", "MissingParameter"},
		{"user list without hash", 0, "root", "", "InvalidParameterValue.InvalidCertificateContent"},
		// The hash ends at the next ':', as nginx reads it: here it is empty.
		{"user list with a comment but no hash", 0, "root::ops-team", "", "InvalidParameterValue.InvalidCertificateContent"},
		{"unknown type", 5, p.caPEM, "", "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := gaapsdk.NewCreateCertificateRequest()
			req.CertificateType, req.CertificateContent = new(tc.typ), new(tc.content)
			if tc.key != "" {
				req.CertificateKey = new(tc.key)
			}
			_, err := c.CreateCertificate(req)
			wantCode(t, err, tc.code)
		})
	}
}

// TestCreateCertificateToolForms: certificates and keys as the usual
// tools write and encode them are accepted.
func TestCreateCertificateToolForms(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	// `openssl ecparam -name prime256v1 -genkey` writes the curve's
	// EC PARAMETERS block before the key.
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	for _, tc := range []struct{ name, content, key string }{
		{"SEC 1 key", p.leafPEM, p.leafSEC1},
		{"openssl ecparam -genkey", p.leafPEM, ecParams + p.leafSEC1},
		// "采用url编码": form encoding writes a space as '+' and '+' as %2B.
		{"url.QueryEscape", url.QueryEscape(p.leafPEM), url.QueryEscape(p.leafKey)},
	} {
		t.Run(tc.name, func(t *testing.T) { createCert(t, c, 2, tc.content, tc.key) })
	}
}

func TestDeleteCertificateInUse(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	proxy := runningProxy(t, api)
	listenerCert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	domainCert := createCert(t, c, 2, p.leafPEM, p.leafKey)
	listener := l7Listener(t, api, proxy, listenerCert, 0)

	req := gaapsdk.NewCreateDomainRequest()
	req.ListenerId, req.Domain, req.CertificateId = new(listener), new("www.example.com"), new(domainCert)
	if _, err := c.CreateDomain(req); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{listenerCert, domainCert} {
		del := gaapsdk.NewDeleteCertificateRequest()
		del.CertificateId = new(id)
		_, err := c.DeleteCertificate(del)
		wantCode(t, err, "FailedOperation.CertificateIsUsing")
	}
}

// startRestartable starts a node whose options make every later start
// use the same data dir and store, so a test can stop it and start again
// on its state. keyFile is the certificate-key file in that dir.
func startRestartable(t *testing.T) (api *xtest.API, mod func(*server.Options), keyFile string) {
	dir := t.TempDir()
	mod = xtest.Restartable(dir, func(o *server.Options) { o.DrainGrace, o.NoRateLimits = 100*time.Millisecond, true })
	return xtest.StartAPIWith(t, mod), mod, filepath.Join(dir, "certificate-keys.key")
}

// A store holding keys sealed with a lost certificate-key file must not
// start with a new key, which could open none of them: Start refuses,
// naming the file, and starts again once the file is back.
func TestLostSealerKeyRefusesStart(t *testing.T) {
	api, mod, keyFile := startRestartable(t)
	ctx := t.Context()
	p := newPKI(t)
	cert := createCert(t, api.GAAP(), 2, url.PathEscape(p.leafPEM), url.PathEscape(p.leafKey))
	api.Close(ctx)

	saved, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyFile)
	o := server.Options{APIListen: "127.0.0.1:0", Root: xtest.Root}
	mod(&o)
	s, err := server.Start(ctx, o)
	if err == nil {
		s.Close(ctx)
		t.Fatal("started with a new key although a stored certificate key is sealed with the lost one")
	}
	if !strings.Contains(err.Error(), keyFile) {
		t.Errorf("got error %q; want it to name %s", err, keyFile)
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused start left a key file behind (stat: %v)", err)
	}

	if err := os.WriteFile(keyFile, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	req := gaapsdk.NewDescribeCertificateDetailRequest()
	req.CertificateId = new(cert)
	detail, err := xtest.StartAPIWith(t, mod).GAAP().DescribeCertificateDetail(req)
	if err != nil {
		t.Fatal(err)
	}
	if *detail.Response.CertificateDetail.CertificateKey != trimmed(p.leafKey) {
		t.Error("certificate key does not round-trip after restoring the key file")
	}
}

// A store without sealed keys (here: only a type-0 certificate) gets a
// new key when the file is missing, as on a first start.
func TestMissingSealerKeyWithoutSealedKeysIsCreated(t *testing.T) {
	api, mod, keyFile := startRestartable(t)
	createCert(t, api.GAAP(), 0, "root:$apr1$x$y", "")
	api.Close(t.Context())
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	xtest.StartAPIWith(t, mod)
	if fi, err := os.Stat(keyFile); err != nil || fi.Size() != 32 || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file after start: %v, %v; want 32 bytes, mode 0600", fi, err)
	}
}

// rsa512Key is a 512-bit RSA key: crypto/rsa refuses to generate one
// (without GODEBUG rsa1024min=0) and to sign with it.
const rsa512Key = `-----BEGIN RSA PRIVATE KEY-----
MIIBPAIBAAJBAL5HA4wf98WDLjb9/JMBcewCBfdSjrJPXDdCikvhM/yHYpBlmGxo
dW0k4w+eXnk9b8SLkwnVEmEX+azl3Cki8LMCAwEAAQJAVx9d5PGYOeQMK5rU5Jyj
RGxSvgEbnFJRB25cs0ysyIGLAY71S6j+59FGgulYwQ58k+t9PcmhxAdFDXS3w+uM
hQIhAPvw7f9sZGGWtLNFuM8C77MSA6CbSEk6Kn9bQTjZzmBVAiEAwVfEWqctlMro
Ie6xaGLCyc1W+xWZt/XX1EY0aZC19OcCIQCqYpxym7mfji6S91ovFktJjatKWPog
G+hVzT9k1ViPKQIhALK+HT1hyPYCEFEuhrzmcQZ3264M7ivwEDSjItlle5KJAiEA
xYqAvMGsvI8xNp7frI9zH/zRR4ZAdRDKnvqcBCO31C8=
-----END RSA PRIVATE KEY-----
`

// TestCreateCertificateKeyTLSCanSign: the edge presents server (type 2)
// and proxy (type 4) certificates with crypto/tls, which signs only with
// ECDSA P-256, P-384 and P-521, Ed25519 and RSA keys of at least 1024
// bits. A certificate whose key it cannot sign with would be accepted,
// bound to a domain that settles to running, and then fail every
// handshake; it is refused with InvalidCertificateKey instead.
func TestCreateCertificateKeyTLSCanSign(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	ca, _, caKey := testCA(t, "Key CA", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	issue := func(priv crypto.Signer) (content, key string) {
		t.Helper()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "example.com"},
			DNSNames: []string{"example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, priv.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", kder)
	}
	block, _ := pem.Decode([]byte(rsa512Key))
	rsa512, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		served bool
	}{
		{"ECDSA P-224", p224, false},
		{"RSA 512", rsa512, false},
		{"ECDSA P-384", p384, true},
		{"ECDSA P-521", p521, true},
		{"Ed25519", ed, true},
		{"RSA 1024", rsa1024, true},
	} {
		content, key := issue(tc.key)
		for _, typ := range []int64{2, 4} {
			req := gaapsdk.NewCreateCertificateRequest()
			req.CertificateType, req.CertificateContent, req.CertificateKey = new(typ), new(content), new(key)
			_, err := c.CreateCertificate(req)
			switch {
			case tc.served && err != nil:
				t.Errorf("%s, type %d: %v; want it accepted (crypto/tls signs with it)", tc.name, typ, err)
			case !tc.served:
				var e *sdkerrors.TencentCloudSDKError
				if !errors.As(err, &e) || e.Code != "InvalidParameterValue.InvalidCertificateKey" {
					t.Errorf("%s, type %d: got %v; want InvalidParameterValue.InvalidCertificateKey (crypto/tls cannot sign with it)", tc.name, typ, err)
				}
			}
		}
	}
	// The PKCS #1 form of the small RSA key is refused the same way.
	content, _ := issue(rsa512)
	req := gaapsdk.NewCreateCertificateRequest()
	req.CertificateType, req.CertificateContent, req.CertificateKey = new(int64(2)), new(content), new(rsa512Key)
	_, err = c.CreateCertificate(req)
	wantCode(t, err, "InvalidParameterValue.InvalidCertificateKey")
}

// TestPre1970CertificateListed: a certificate whose NotBefore is before
// 1970 (UTCTime reaches back to 1950; device and test certificates use
// such dates) is accepted. The Certificate and CertificateDetail types give
// BeginTime as a Unix timestamp, which the official SDK reads as uint64,
// so it is answered as 0: a negative number would make the SDK fail to
// read the whole DescribeCertificates answer, and so every certificate of
// the account (Terraform's gaap_certificate data source and reads
// included).
func TestPre1970CertificateListed(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	tmpl, der, _ := testCA(t, "Old CA", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(24*time.Hour))
	createCert(t, c, 0, "root:$apr1$x$y", "")
	id := createCert(t, c, 1, pemOf("CERTIFICATE", der), "")

	list, err := c.DescribeCertificates(gaapsdk.NewDescribeCertificatesRequest())
	if err != nil {
		t.Fatalf("DescribeCertificates through the SDK after adding a certificate valid since 1960: %v; want the list", err)
	}
	if got := list.Response.CertificateSet; len(got) != 2 || *got[1].BeginTime != 0 || int64(*got[1].EndTime) != tmpl.NotAfter.Unix() {
		t.Errorf("DescribeCertificates: got %d certificates; want 2, the CA's BeginTime 0 and EndTime %d", len(got), tmpl.NotAfter.Unix())
	}
	req := gaapsdk.NewDescribeCertificateDetailRequest()
	req.CertificateId = new(id)
	detail, err := c.DescribeCertificateDetail(req)
	if err != nil {
		t.Fatalf("DescribeCertificateDetail through the SDK of a certificate valid since 1960: %v; want its detail", err)
	}
	if d := detail.Response.CertificateDetail; *d.BeginTime != 0 || *d.SubjectCN != "Old CA" {
		t.Errorf("DescribeCertificateDetail: got BeginTime %d, SubjectCN %q; want 0, Old CA", *d.BeginTime, *d.SubjectCN)
	}
}

// TestClientCAWithPEMHeadersRuns: a client CA (type 1) whose CERTIFICATE
// block carries RFC 1421 headers ("Comment: ...") is accepted by
// CreateCertificate, and the mutual-TLS listener using it runs: the edge
// reads CA content as the API does. It used to skip such blocks, refuse
// the listener (client CA: no certificate in PEM) and leave it changing.
func TestClientCAWithPEMHeadersRuns(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	p := newPKI(t)
	proxy := runningProxy(t, api)
	block, _ := pem.Decode([]byte(p.caPEM))
	block.Headers = map[string]string{"Comment": "client CA"}
	caID := createCert(t, c, 1, string(pem.EncodeToMemory(block)), "")

	req := gaapsdk.NewCreateHTTPSListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("mtls"), new(nextPort.Add(1))
	req.CertificateId, req.ForwardProtocol, req.AuthType = new(createCert(t, c, 2, p.leafPEM, p.leafKey)), new("HTTP"), new(uint64(1))
	req.ClientCertificateId = new(caID)
	resp, err := c.CreateHTTPSListener(req)
	if err != nil {
		t.Fatalf("CreateHTTPSListener: %v", err)
	}
	id := *resp.Response.ListenerId
	eventually(t, func() bool { return listenerStatus(t, c, id, true) == 0 },
		"mutual-TLS listener whose client CA has PEM headers never ran (ListenerStatus 0)")
}

// TestCertificateSizeAndAccountQuota: CertificateContent is at most
// model.MaxCertificateContent bytes (InvalidParameterValue.InvalidCertificateContent),
// an account holds at most model.MaxCertificates certificates (LimitExceeded),
// and DescribeCertificates pages them, by type too. Neither was bounded: 20
// certificates of 6 MB were stored, and one DescribeCertificates with Limit 1
// then read all of them.
func TestCertificateSizeAndAccountQuota(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true })
	c := api.GAAP()
	ca := newPKI(t).caPEM
	create := func(typ int64, content string) (string, error) {
		req := gaapsdk.NewCreateCertificateRequest()
		req.CertificateType, req.CertificateContent, req.CertificateAlias = new(typ), new(content), new("q")
		resp, err := c.CreateCertificate(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.CertificateId, nil
	}
	fits := strings.Repeat(ca, model.MaxCertificateContent/len(ca))
	_, err := create(1, fits+ca)
	wantCode(t, err, "InvalidParameterValue.InvalidCertificateContent")
	users := strings.Repeat("user:$apr1$x$y\n", model.MaxCertificateContent/15+1)
	_, err = create(0, users)
	wantCode(t, err, "InvalidParameterValue.InvalidCertificateContent")

	var first string
	for i := range model.MaxCertificates {
		typ, content := int64(1), ca
		if i%100 == 0 {
			typ, content = 0, users[:len(users)-30]
		}
		if i == 1 {
			content = fits // a bundle just under the bound is taken
		}
		id, err := create(typ, content)
		if err != nil {
			t.Fatalf("CreateCertificate #%d: %v", i+1, err)
		}
		if i == 0 {
			first = id
		}
	}
	_, err = create(1, ca)
	wantCode(t, err, "LimitExceeded")

	for _, tc := range []struct {
		typ           int64
		offset, total int
	}{{-1, 0, model.MaxCertificates}, {0, 4, model.MaxCertificates / 100}, {1, 494, model.MaxCertificates - model.MaxCertificates/100}} {
		req := gaapsdk.NewDescribeCertificatesRequest()
		req.CertificateType, req.Offset, req.Limit = new(tc.typ), new(uint64(tc.offset)), new(uint64(1))
		resp, err := c.DescribeCertificates(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(*resp.Response.TotalCount); got != tc.total || len(resp.Response.CertificateSet) != 1 {
			t.Errorf("DescribeCertificates(type %d, offset %d, limit 1): TotalCount %d, %d rows; want %d, 1 row",
				tc.typ, tc.offset, got, len(resp.Response.CertificateSet), tc.total)
		} else if tc.typ == -1 && *resp.Response.CertificateSet[0].CertificateId != first {
			t.Errorf("DescribeCertificates(limit 1) lists %s first; want %s, the first created", *resp.Response.CertificateSet[0].CertificateId, first)
		}
	}
}
