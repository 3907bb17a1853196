package sign_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/cloudapi/sign"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	gaap "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"
)

const (
	sdkSecretID  = "AKIDsdk"
	sdkSecretKey = "sdk-secret-key"
)

// captured is what the server saw of one SDK request.
type captured struct {
	method, host, path, rawQuery string
	header                       http.Header
	body                         []byte
}

// sdkCall sends DescribeProxies through the official Go SDK to a local
// server configured by configure, and returns the request as received.
// The request has 13 InstanceIds (so ".10" and ".2" sort by bytes) and a
// filter value needing escapes, to exercise v1 sorting and GET encoding.
func sdkCall(t *testing.T, configure func(*profile.ClientProfile)) captured {
	t.Helper()
	got := make(chan captured, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- captured{r.Method, r.Host, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body}
		io.WriteString(w, `{"Response":{"TotalCount":0,"ProxySet":[],"RequestId":"r"}}`)
	}))
	t.Cleanup(srv.Close)

	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = srv.Listener.Addr().String()
	cpf.HttpProfile.Scheme = "HTTP"
	configure(cpf)
	client, err := gaap.NewClient(common.NewCredential(sdkSecretID, sdkSecretKey), "ap-guangzhou", cpf)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	req := gaap.NewDescribeProxiesRequest()
	for i := range 13 {
		req.InstanceIds = append(req.InstanceIds, new("link-"+strconv.Itoa(i)))
	}
	req.Filters = []*gaap.Filter{{Name: new("ProxyName"), Values: []*string{new("a b+c/é&d=e")}}}
	req.Limit = new(uint64(20))
	if _, err := client.DescribeProxies(req); err != nil {
		t.Fatalf("DescribeProxies: %v", err)
	}
	return <-got
}

// TestGoSDKTC3 verifies TC3 headers produced by the real Go SDK (v1.0.162),
// which signs the Host header with its port.
func TestGoSDKTC3(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*profile.ClientProfile)
	}{
		{"post json", func(*profile.ClientProfile) {}},
		{"get query", func(p *profile.ClientProfile) { p.HttpProfile.ReqMethod = "GET" }},
		{"unsigned payload", func(p *profile.ClientProfile) { p.UnsignedPayload = true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sdkCall(t, tc.configure)
			a, err := sign.ParseTC3(c.header.Get("Authorization"))
			if err != nil {
				t.Fatalf("ParseTC3(%q): %v", c.header.Get("Authorization"), err)
			}
			if a.SecretID != sdkSecretID || a.Service != "gaap" {
				t.Errorf("SecretID, Service = %q, %q; want %q, %q", a.SecretID, a.Service, sdkSecretID, "gaap")
			}
			ts, err := strconv.ParseInt(c.header.Get("X-TC-Timestamp"), 10, 64)
			if err != nil {
				t.Fatalf("X-TC-Timestamp: %v", err)
			}
			if !a.Verify(sdkSecretKey, c.method, c.host, c.rawQuery, c.header, c.body, ts) {
				t.Errorf("Verify = false; want true\nhost %s query %s\nheader %v\nbody %s", c.host, c.rawQuery, c.header, c.body)
			}
			if a.Verify("wrong", c.method, c.host, c.rawQuery, c.header, c.body, ts) {
				t.Error("Verify(wrong secret) = true; want false")
			}
			// The Go SDK signs the port: the bare host must not verify.
			if bare, _, _ := strings.Cut(c.host, ":"); a.Verify(sdkSecretKey, c.method, bare, c.rawQuery, c.header, c.body, ts) {
				t.Errorf("Verify(host %q) = true; want false", bare)
			}
		})
	}
}

// TestGoSDKV1 verifies v1 signatures produced by the real Go SDK: it sends
// POST as an x-www-form-urlencoded body and GET as a query, always with
// SignatureMethod, and signs the host with its port and the path "/".
func TestGoSDKV1(t *testing.T) {
	for _, method := range []string{"HmacSHA1", "HmacSHA256"} {
		for _, verb := range []string{"POST", "GET"} {
			t.Run(method+" "+verb, func(t *testing.T) {
				c := sdkCall(t, func(p *profile.ClientProfile) {
					p.SignMethod = method
					p.HttpProfile.ReqMethod = verb
				})
				r := httptest.NewRequest(c.method, c.path+"?"+c.rawQuery, bytes.NewReader(c.body))
				r.Header = c.header
				if err := r.ParseForm(); err != nil {
					t.Fatalf("ParseForm: %v", err)
				}
				if got := r.Form.Get("SignatureMethod"); got != method {
					t.Errorf("SignatureMethod = %q; want %q", got, method)
				}
				if !sign.VerifyV1(sdkSecretKey, c.method, c.host, c.path, r.Form) {
					t.Errorf("VerifyV1 = false; want true\nhost %s form %v", c.host, r.Form)
				}
				if sign.VerifyV1("wrong", c.method, c.host, c.path, r.Form) {
					t.Error("VerifyV1(wrong secret) = true; want false")
				}
				if bare, _, _ := strings.Cut(c.host, ":"); sign.VerifyV1(sdkSecretKey, c.method, bare, c.path, r.Form) {
					t.Errorf("VerifyV1(host %q) = true; want false", bare)
				}
			})
		}
	}
}
