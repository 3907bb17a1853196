package gaap_test

import (
	"slices"
	"sync"
	"testing"

	gaapsdk "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/gaap/v20180529"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/server"
	"github.com/opengaap/opengaap/internal/xtest"
)

func TestHTTPListener(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)

	req := gaapsdk.NewCreateHTTPListenerRequest()
	req.ProxyId, req.ListenerName, req.Port = new(proxy), new("web"), new(uint64(80))
	resp, err := c.CreateHTTPListener(req)
	if err != nil {
		t.Fatal(err)
	}
	id := *resp.Response.ListenerId
	eventually(t, func() bool { return listenerStatus(t, c, id, false) == 0 }, "listener %s not running", id)

	m := gaapsdk.NewModifyHTTPListenerAttributeRequest()
	m.ListenerId, m.ProxyId, m.ListenerName = new(id), new(proxy), new("site")
	if _, err := c.ModifyHTTPListenerAttribute(m); err != nil {
		t.Fatal(err)
	}
	d := gaapsdk.NewDescribeHTTPListenersRequest()
	d.ProxyId, d.SearchValue = new(proxy), new("8")
	out, err := c.DescribeHTTPListeners(d)
	if err != nil || len(out.Response.ListenerSet) != 1 {
		t.Fatalf("DescribeHTTPListeners: %v", err)
	}
	l := out.Response.ListenerSet[0]
	if *l.ListenerName != "site" || *l.Protocol != "HTTP" || *l.ListenerStatus != 0 {
		t.Errorf("got %s; want name site, HTTP, status 0 (a rename is immediate)", toJSON(l))
	}

	// HTTP and TCP listeners share TCP ports; UDP ones do not.
	_, err = c.CreateTCPListeners(tcpRequest(proxy, 80))
	wantCode(t, err, "InvalidParameterValue.DuplicatedListenerPort")
	err = api.Call(c, "CreateUDPListeners", map[string]any{"ProxyId": proxy, "ListenerName": "u", "Ports": []int{80},
		"Scheduler": "rr", "RealServerType": "IP"}, nil)
	if err != nil {
		t.Errorf("UDP listener on port 80: %v", err)
	}

	d = gaapsdk.NewDescribeHTTPListenersRequest()
	d.ProxyId, d.GroupId = new(proxy), new("lg-00000000")
	_, err = c.DescribeHTTPListeners(d)
	wantCode(t, err, "InvalidParameter")
	_, err = c.DescribeHTTPListeners(gaapsdk.NewDescribeHTTPListenersRequest())
	wantCode(t, err, "InvalidParameter")
}

// httpsListener is HTTPSListener with the TLS fields the SDK lacks.
type httpsListener struct {
	ListenerStatus, AuthType                               int64
	CertificateAlias, ClientCertificateId, ForwardProtocol string
	TLSSupportVersion                                      []string
	TLSCiphers                                             string
	GroupId                                                *string
}

func describeHTTPS(t *testing.T, api *xtest.API, id string) httpsListener {
	t.Helper()
	var out struct{ ListenerSet []httpsListener }
	if err := api.Call(api.GAAP(), "DescribeHTTPSListeners", map[string]any{"ListenerId": id}, &out); err != nil || len(out.ListenerSet) != 1 {
		t.Fatalf("DescribeHTTPSListeners(%s): %v", id, err)
	}
	return out.ListenerSet[0]
}

func TestHTTPSListener(t *testing.T) {
	t.Parallel()
	api := xtest.StartAPI(t)
	c := api.GAAP()
	proxy := runningProxy(t, api)
	p := newPKI(t)
	server := createCert(t, c, 2, p.leafPEM, p.leafKey)
	ca := createCert(t, c, 1, p.caPEM, "")

	https := func(mod func(*gaapsdk.CreateHTTPSListenerRequest)) (string, error) {
		req := gaapsdk.NewCreateHTTPSListenerRequest()
		req.ProxyId, req.ListenerName, req.Port = new(proxy), new("tls"), new(uint64(443))
		req.CertificateId, req.ForwardProtocol = new(server), new("HTTP")
		mod(req)
		resp, err := c.CreateHTTPSListener(req)
		if err != nil {
			return "", err
		}
		return *resp.Response.ListenerId, nil
	}
	invalid := []struct {
		desc string
		mod  func(*gaapsdk.CreateHTTPSListenerRequest)
		code string
	}{
		{"CA as server cert", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.CertificateId = new(ca) }, "InvalidParameterValue.InvalidCertificateId"},
		{"unknown cert", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.CertificateId = new("cert-00000000") }, "InvalidParameterValue.InvalidCertificateId"},
		{"mutual without CA", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.AuthType = new(uint64(1)) }, "InvalidParameterValue"},
		{"CA without mutual", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.ClientCertificateId = new(ca) }, "InvalidParameterValue"},
		{"forward protocol", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.ForwardProtocol = new("TCP") }, "InvalidParameterValue"},
		{"port 0", func(r *gaapsdk.CreateHTTPSListenerRequest) { r.Port = new(uint64(0)) }, "InvalidParameterValue.InvalidListenerPort"},
	}
	for _, tc := range invalid {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := https(tc.mod)
			wantCode(t, err, tc.code)
		})
	}

	id, err := https(func(r *gaapsdk.CreateHTTPSListenerRequest) {
		r.AuthType, r.PolyClientCertificateIds = new(uint64(1)), sdkIDs(ca)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return describeHTTPS(t, api, id).ListenerStatus == 0 }, "listener %s not running", id)
	got := describeHTTPS(t, api, id)
	if got.AuthType != 1 || got.ClientCertificateId != ca || got.CertificateAlias != "alias" || got.GroupId != nil ||
		got.TLSCiphers != "GAAP_TLS_CIPHERS_WIDE" || len(got.TLSSupportVersion) == 0 {
		t.Errorf("got %+v; want mutual auth with %s, alias, WIDE ciphers, default versions", got, ca)
	}

	tls := map[string]any{"ListenerId": id, "TLSSupportVersion": []string{"TLSv1.3"}, "TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}
	if err := api.Call(c, "SetTlsVersion", tls, nil); err != nil {
		t.Fatalf("SetTlsVersion: %v", err)
	}
	eventually(t, func() bool {
		got = describeHTTPS(t, api, id)
		return got.ListenerStatus == 0 && got.TLSCiphers == "GAAP_TLS_CIPHERS_STRICT"
	}, "TLS change not applied")
	if !slices.Equal(got.TLSSupportVersion, []string{"TLSv1.3"}) {
		t.Errorf("got TLS versions %v; want [TLSv1.3]", got.TLSSupportVersion)
	}
	tls["TLSSupportVersion"] = []string{"SSLv3"}
	wantCode(t, api.Call(c, "SetTlsVersion", tls, nil), "InvalidParameterValue")

	m := gaapsdk.NewModifyHTTPSListenerAttributeRequest()
	m.ListenerId, m.ProxyId, m.ForwardProtocol = new(id), new(proxy), new("HTTPS")
	if _, err := c.ModifyHTTPSListenerAttribute(m); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		got = describeHTTPS(t, api, id)
		return got.ListenerStatus == 0 && got.ForwardProtocol == "HTTPS"
	}, "HTTPS change not applied")
	// ModifyHTTPSListenerAttribute's error list has no InvalidCertificateId.
	m.ForwardProtocol, m.CertificateId = nil, new(ca)
	_, err = c.ModifyHTTPSListenerAttribute(m)
	wantCode(t, err, "InvalidParameterValue")
}

// TestHTTPSListenersSearchValueWithPort: the references of
// DescribeHTTP/TCP/UDPListeners forbid SearchValue together with
// ListenerName or Port; DescribeHTTPSListeners' does not, so it applies
// them all (ANDed).
func TestHTTPSListenersSearchValueWithPort(t *testing.T) {
	t.Parallel()
	api, _, listener, _ := httpsSetup(t)
	c := api.GAAP()
	var one struct {
		ListenerSet []struct {
			ProxyId      string
			ListenerName string
			Port         int
		}
	}
	if err := api.Call(c, "DescribeHTTPSListeners", map[string]any{"ListenerId": listener}, &one); err != nil {
		t.Fatal(err)
	}
	l := one.ListenerSet[0]
	tests := []struct {
		name   string
		params map[string]any
		want   int
	}{
		{"with port", map[string]any{"SearchValue": "https", "Port": l.Port}, 1},
		{"with name", map[string]any{"SearchValue": "https", "ListenerName": l.ListenerName}, 1},
		{"with another port", map[string]any{"SearchValue": "https", "Port": l.Port + 1}, 0},
		{"not matching the name", map[string]any{"SearchValue": "nothing", "Port": l.Port}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.params["ProxyId"] = l.ProxyId
			var out struct {
				TotalCount  int
				ListenerSet []struct{ ListenerId string }
			}
			if err := api.Call(c, "DescribeHTTPSListeners", tc.params, &out); err != nil {
				t.Fatalf("DescribeHTTPSListeners(%v): %v", tc.params, err)
			}
			if out.TotalCount != tc.want || len(out.ListenerSet) != tc.want || tc.want == 1 && out.ListenerSet[0].ListenerId != listener {
				t.Errorf("got %+v; want %d (listener %s)", out, tc.want, listener)
			}
		})
	}
}

// TestListenerConflictingParametersCodeDocumented: ProxyId with GroupId,
// SearchValue with ListenerName, and ClientCertificateId with
// PolyClientCertificateIds answer InvalidParameter, which the listener
// actions list, not InvalidParameter.ConflictParameters, which only
// SetTlsVersion's error list names: clients branch on the documented codes.
func TestListenerConflictingParametersCodeDocumented(t *testing.T) {
	t.Parallel()
	api, p, listener, cert := httpsSetup(t)
	c := api.GAAP()
	var out struct{ ListenerSet []struct{ ProxyId string } }
	if err := api.Call(c, "DescribeHTTPSListeners", map[string]any{"ListenerId": listener}, &out); err != nil {
		t.Fatal(err)
	}
	pid := out.ListenerSet[0].ProxyId
	ca := createCert(t, c, 1, p.caPEM, "")

	d := gaapsdk.NewDescribeHTTPListenersRequest()
	d.ProxyId, d.GroupId = new(pid), new("lg-00000000")
	_, err := c.DescribeHTTPListeners(d)
	wantDocumented(t, "DescribeHTTPListeners", err)
	wantCode(t, err, "InvalidParameter")

	// DescribeHTTPSListeners' reference does not forbid this combination
	// (TestHTTPSListenersSearchValueWithPort); the TCP one's does.
	dt := gaapsdk.NewDescribeTCPListenersRequest()
	dt.ProxyId, dt.SearchValue, dt.ListenerName = new(pid), new("h"), new("tcp")
	_, err = c.DescribeTCPListeners(dt)
	wantDocumented(t, "DescribeTCPListeners", err)
	wantCode(t, err, "InvalidParameter")

	ch := gaapsdk.NewCreateHTTPListenerRequest()
	ch.ProxyId, ch.GroupId, ch.ListenerName, ch.Port = new(pid), new("lg-00000000"), new("h"), new(uint64(9080))
	_, err = c.CreateHTTPListener(ch)
	wantDocumented(t, "CreateHTTPListener", err)
	wantCode(t, err, "InvalidParameter")

	cs := gaapsdk.NewCreateHTTPSListenerRequest()
	cs.ProxyId, cs.ListenerName, cs.Port = new(pid), new("m"), new(uint64(9443))
	cs.CertificateId, cs.ForwardProtocol, cs.AuthType = new(cert), new("HTTP"), new(uint64(1))
	cs.ClientCertificateId, cs.PolyClientCertificateIds = new(ca), []*string{new(ca)}
	_, err = c.CreateHTTPSListener(cs)
	wantDocumented(t, "CreateHTTPSListener", err)
	wantCode(t, err, "InvalidParameter")

	m := gaapsdk.NewModifyHTTPSListenerAttributeRequest()
	m.ListenerId, m.ClientCertificateId, m.PolyClientCertificateIds = new(listener), new(ca), []*string{new(ca)}
	_, err = c.ModifyHTTPSListenerAttribute(m)
	wantDocumented(t, "ModifyHTTPSListenerAttribute", err)
	wantCode(t, err, "InvalidParameter")
}

// TestTLSVersionsWithoutSuitesRefused: GAAP_TLS_CIPHERS_STRICT's suites
// all need TLS 1.2, so TLSv1/TLSv1.1 alone with it would leave a listener
// or domain "running" that refuses every client. SetTlsVersion refuses
// such a pair with InvalidParameter.ConflictParameters, which its error
// list names, also where it would leave a domain that set its own STRICT
// ciphers with such versions; SetAuthentication, whose list lacks it,
// refuses a domain's pair (its own or kept from the listener) with
// InvalidParameter.
func TestTLSVersionsWithoutSuitesRefused(t *testing.T) {
	t.Parallel()
	api, _, listener, _ := httpsSetup(t)
	c := api.GAAP()
	setTLS := func(versions []string, ciphers string) error {
		return api.Call(c, "SetTlsVersion", map[string]any{"ListenerId": listener, "TLSSupportVersion": versions, "TLSCiphers": ciphers}, nil)
	}
	for _, vs := range [][]string{{"TLSv1"}, {"TLSv1.1"}, {"TLSv1", "TLSv1.1"}} {
		err := setTLS(vs, "GAAP_TLS_CIPHERS_STRICT")
		wantDocumented(t, "SetTlsVersion", err)
		wantCode(t, err, "InvalidParameter.ConflictParameters")
	}
	createDomain(t, c, listener, "www.example.com")
	auth := func(fields map[string]any) error {
		fields["ListenerId"], fields["Domain"] = listener, "www.example.com"
		return api.Call(c, "SetAuthentication", fields, nil)
	}
	// Its own STRICT ciphers with the listener's versions (TLS 1.2-1.3).
	if err := auth(map[string]any{"TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")
	err := setTLS([]string{"TLSv1", "TLSv1.1"}, "GAAP_TLS_CIPHERS_GENERAL")
	wantDocumented(t, "SetTlsVersion", err)
	wantCode(t, err, "InvalidParameter.ConflictParameters")
	for _, fields := range []map[string]any{
		{"TLSSupportVersion": []string{"TLSv1.1"}},
		{"TLSSupportVersion": []string{"TLSv1"}, "TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"},
	} {
		err := auth(fields)
		wantDocumented(t, "SetAuthentication", err)
		wantCode(t, err, "InvalidParameter")
	}
	// Its own versions reaching TLS 1.2 free the listener's.
	if err := auth(map[string]any{"TLSSupportVersion": []string{"TLSv1", "TLSv1.2"}}); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, c, listener, "www.example.com")
	if err := setTLS([]string{"TLSv1", "TLSv1.1"}, "GAAP_TLS_CIPHERS_GENERAL"); err != nil {
		t.Errorf("SetTlsVersion TLSv1-1.1 GENERAL, the domain having its own versions and ciphers: %v", err)
	}
}

// TestSetTlsVersionBusyCodeDocumented: SetTlsVersion on a listener with a
// change in flight answers ResourceUnavailable, which its error list names
// (it lists neither FailedOperation.ListenerHasTask nor ListenerStatusError),
// while ModifyHTTPSListenerAttribute, which lists it, keeps ListenerHasTask.
func TestSetTlsVersionBusyCodeDocumented(t *testing.T) {
	t.Parallel()
	api, _, listener, _ := httpsSetup(t)
	c := api.GAAP()
	release := sync.OnceFunc(api.Controller.Hold())
	defer release() // keep the listener adjusting (status 4)
	tls := map[string]any{"ListenerId": listener, "TLSSupportVersion": []string{"TLSv1.2"}, "TLSCiphers": "GAAP_TLS_CIPHERS_STRICT"}
	if err := api.Call(c, "SetTlsVersion", tls, nil); err != nil {
		t.Fatal(err)
	}
	err := api.Call(c, "SetTlsVersion", tls, nil)
	wantDocumented(t, "SetTlsVersion", err)
	wantCode(t, err, "ResourceUnavailable")
	err = api.Call(c, "ModifyHTTPSListenerAttribute", map[string]any{"ListenerId": listener, "ForwardProtocol": "HTTPS"}, nil)
	wantDocumented(t, "ModifyHTTPSListenerAttribute", err)
	wantCode(t, err, "FailedOperation.ListenerHasTask")
}

// TestPolyCertificateIDsRepeatedOrTooManyRefused: a CA listed twice in
// PolyClientCertificateIds or PolyRealServerCertificateIds, or more than
// model.MaxPolyCertificates CAs, is refused (InvalidParameterValue) by
// CreateHTTPSListener, CreateDomain and SetAuthentication alike. The
// controller copies a CA's content into the snapshot once per entry, so one
// CA listed thousands of times made the node allocate gigabytes.
func TestPolyCertificateIDsRepeatedOrTooManyRefused(t *testing.T) {
	api := xtest.StartAPIWith(t, func(o *server.Options) { o.NoRateLimits = true })
	c := api.GAAP()
	p := newPKI(t)
	server := createCert(t, c, 2, p.leafPEM, p.leafKey)
	cas := make([]*string, model.MaxPolyCertificates+1)
	for i := range cas {
		cas[i] = new(createCert(t, c, 1, p.caPEM, ""))
	}
	proxy := runningProxy(t, api)
	create := func(ids []*string) (*gaapsdk.CreateHTTPSListenerResponse, error) {
		req := gaapsdk.NewCreateHTTPSListenerRequest()
		req.ProxyId, req.ListenerName, req.Port = new(proxy), new("https"), new(nextPort.Add(1))
		req.CertificateId, req.ForwardProtocol, req.AuthType = new(server), new("HTTP"), new(uint64(1))
		req.PolyClientCertificateIds = ids
		return c.CreateHTTPSListener(req)
	}
	_, err := create([]*string{cas[0], cas[1], cas[0]})
	wantCode(t, err, "InvalidParameterValue")
	_, err = create(cas)
	wantCode(t, err, "InvalidParameterValue")
	resp, err := create(cas[:model.MaxPolyCertificates])
	if err != nil {
		t.Fatalf("CreateHTTPSListener with %d distinct client CAs: %v", model.MaxPolyCertificates, err)
	}
	listener := *resp.Response.ListenerId
	eventually(t, func() bool { pace(); return listenerStatus(t, c, listener, true) == 0 }, "listener %s not running", listener)

	dom := gaapsdk.NewCreateDomainRequest()
	dom.ListenerId, dom.Domain, dom.PolyClientCertificateIds = new(listener), new("www.example.com"), []*string{cas[0], cas[0]}
	_, err = c.CreateDomain(dom)
	wantCode(t, err, "InvalidParameterValue")
	createDomain(t, c, listener, "www.example.com")

	originCA := createCert(t, c, 3, p.caPEM, "")
	auth := gaapsdk.NewSetAuthenticationRequest()
	auth.ListenerId, auth.Domain = new(listener), new("www.example.com")
	auth.RealServerAuth, auth.PolyRealServerCertificateIds = new(int64(1)), []*string{new(originCA), new(originCA)}
	_, err = c.SetAuthentication(auth)
	wantCode(t, err, "InvalidParameterValue")
	auth.PolyRealServerCertificateIds = auth.PolyRealServerCertificateIds[:1]
	if _, err := c.SetAuthentication(auth); err != nil {
		t.Fatalf("SetAuthentication with one origin CA: %v", err)
	}
}
