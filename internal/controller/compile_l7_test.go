package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestCompileHTTPS: what an HTTPS listener, its domain and rule configure
// through the API reaches the snapshot the edge runs: certificates with
// unsealed keys, client CAs (mutual TLS), TLS versions and ciphers, a
// domain's overrides, basic auth users, origin verification, the proxy's
// client certificate, the rule's forward host and SNI, health check
// parameters, headers, error pages and origins.
func TestCompileHTTPS(t *testing.T) {
	cert := func(id, content string) *model.Certificate {
		return &model.Certificate{Base: model.Base{ID: id}, Content: content, KeySealed: "sealed-" + id}
	}
	st := &State{Objects: map[string][]model.Object{
		model.KindProxy: {&model.Proxy{Base: model.Base{ID: "link-1"}, IP: "127.0.0.1", Status: model.ProxyRunning}},
		model.KindCertificate: {cert("cert-l", "LISTENER"), cert("cert-ca", "CLIENT CA"), cert("cert-d", "DOMAIN"),
			cert("cert-users", "# ops team\r\nalice:x\r\n\nbob:y\n"), cert("cert-oca", "ORIGIN CA"), cert("cert-gaap", "GAAP")},
		model.KindRealServer: {&model.RealServer{Base: model.Base{ID: "rs-1"}, Address: "10.0.0.1"},
			&model.RealServer{Base: model.Base{ID: "rs-2"}, Address: "origin.example", IsDomain: true}},
		model.KindListener: {&model.Listener{Base: model.Base{ID: "listener-s"}, ProxyID: "link-1", Protocol: model.HTTPS, Port: 443,
			CertificateID: "cert-l", AuthType: 1, ClientCertificateIDs: []string{"cert-ca"}, ForwardProtocol: "HTTPS",
			TLSSupportVersion: []string{snapshot.TLS12, snapshot.TLS13}, TLSCiphers: "GAAP_TLS_CIPHERS_STRICT", Http3Supported: 1}},
		model.KindDomain: {&model.Domain{Base: model.Base{ID: "d-1"}, ListenerID: "listener-s", Host: "www.test", IsDefaultServer: true,
			CertificateID: "cert-d", ClientCertificateIDs: []string{"default"}, TLSSupportVersion: []string{snapshot.TLS13},
			BasicAuth: 1, BasicAuthConfID: "cert-users", RealServerAuth: 1, RealServerCertificateIDs: []string{"cert-oca"},
			RealServerCertificateDomain: "origin.test", GaapAuth: 1, GaapCertificateID: "cert-gaap", Http3Supported: 1}},
		model.KindRule: {&model.Rule{Base: model.Base{ID: "rule-1"}, ListenerID: "listener-s", Domain: "www.test", Path: "/api",
			Scheduler: "wrr", HealthCheck: 1, ForwardProtocol: "default", ForwardHost: "default",
			ServerNameIndicationSwitch: "ON", ServerNameIndication: "sni.test",
			Check: model.CheckParams{DelayLoop: 5, ConnectTimeout: 2, Path: "/health", Method: "HEAD", StatusCode: []int64{200, 300},
				Domain: "check.test", HealthyThreshold: 2, FailedThreshold: 3},
			Headers:  []model.HeaderParam{{Name: "X-A", Value: "1"}},
			Bindings: []model.Bound{{RealServerID: "rs-1", Port: 8443, Weight: 3}, {RealServerID: "rs-2", Port: 443, Weight: 1}}}},
		model.KindErrorPage: {&model.ErrorPage{Base: model.Base{ID: "ep-1"}, ListenerID: "listener-s", Domain: "www.test",
			ErrorNos: []int64{502}, NewErrorNo: 500, Body: "page", ClearHeaders: []string{"Server"}}},
	}}
	snap := Compile(st, Settings{OpenKey: func(sealed string) (string, error) { return "KEY:" + strings.TrimPrefix(sealed, "sealed-"), nil }})
	if len(snap.Proxies) != 1 || len(snap.Proxies[0].HTTPListeners) != 1 {
		t.Fatalf("got %+v; want one HTTPS listener", snap.Proxies)
	}
	l := snap.Proxies[0].HTTPListeners[0]
	if l.Protocol != snapshot.ProtoHTTPS || l.Port != 443 || !l.HTTP3 || l.ForwardProtocol != "HTTPS" {
		t.Errorf("listener %+v", l)
	}
	want := snapshot.TLS{CertPEM: "LISTENER", KeyPEM: "KEY:cert-l", ClientCAPEMs: []string{"CLIENT CA"},
		MinVersion: snapshot.TLS12, MaxVersion: snapshot.TLS13, Ciphers: "GAAP_TLS_CIPHERS_STRICT"}
	if l.TLS == nil || l.TLS.CertPEM != want.CertPEM || l.TLS.KeyPEM != want.KeyPEM || !slices.Equal(l.TLS.ClientCAPEMs, want.ClientCAPEMs) ||
		l.TLS.MinVersion != want.MinVersion || l.TLS.MaxVersion != want.MaxVersion || l.TLS.Ciphers != want.Ciphers {
		t.Errorf("listener TLS %+v; want %+v", l.TLS, want)
	}
	if len(l.Domains) != 1 {
		t.Fatalf("domains %+v", l.Domains)
	}
	d := l.Domains[0]
	// "default" client CAs: the listener's stay (no override). The
	// ciphers, which the domain does not set, are its listener's.
	if d.TLS == nil || d.TLS.CertPEM != "DOMAIN" || d.TLS.KeyPEM != "KEY:cert-d" || d.TLS.ClientCAPEMs != nil || d.TLS.MinVersion != snapshot.TLS13 ||
		d.TLS.Ciphers != "GAAP_TLS_CIPHERS_STRICT" {
		t.Errorf("domain TLS %+v; want its certificate, TLS 1.3 only and the listener's STRICT ciphers", d.TLS)
	}
	if !d.IsDefault || !slices.Equal(d.BasicAuth, []string{"alice:x", "bob:y"}) || !slices.Equal(d.OriginCAPEMs, []string{"ORIGIN CA"}) ||
		d.OriginServerName != "origin.test" || d.ClientCertPEM != "GAAP" || d.ClientKeyPEM != "KEY:cert-gaap" || d.NoHTTP3 {
		t.Errorf("domain %+v", d)
	}
	if len(d.ErrorPages) != 1 || d.ErrorPages[0].NewErrorNo != 500 || d.ErrorPages[0].ErrorNos[0] != 502 || d.ErrorPages[0].Body != "page" {
		t.Errorf("error pages %+v", d.ErrorPages)
	}
	if len(d.Rules) != 1 {
		t.Fatalf("rules %+v", d.Rules)
	}
	r := d.Rules[0]
	h := snapshot.HTTPCheck{Enabled: true, Interval: 5 * time.Second, Timeout: 2 * time.Second, Healthy: 2, Unhealthy: 3,
		Path: "/health", Method: "HEAD", Host: "check.test", StatusClasses: []int{200, 300}}
	if r.Path != "/api" || r.Scheduler != "wrr" || r.ForwardProtocol != "" || r.ForwardHost != "" || r.SNI != "sni.test" ||
		len(r.Headers) != 1 || r.Headers[0] != (snapshot.Header{Name: "X-A", Value: "1"}) {
		t.Errorf("rule %+v", r)
	}
	if r.Health.Enabled != h.Enabled || r.Health.Interval != h.Interval || r.Health.Timeout != h.Timeout || r.Health.Healthy != h.Healthy ||
		r.Health.Unhealthy != h.Unhealthy || r.Health.Path != h.Path || r.Health.Method != h.Method || r.Health.Host != h.Host ||
		!slices.Equal(r.Health.StatusClasses, h.StatusClasses) {
		t.Errorf("rule health %+v; want %+v", r.Health, h)
	}
	wantOrigins := []snapshot.Origin{{ID: "rs-1:8443", Host: "10.0.0.1", Port: 8443, Weight: 3}, {ID: "rs-2:443", Host: "origin.example", IsDomain: true, Port: 443, Weight: 1}}
	if !slices.Equal(r.Origins, wantOrigins) {
		t.Errorf("origins %+v; want %+v", r.Origins, wantOrigins)
	}
	if errs := snap.Validate(); len(errs) > 0 {
		t.Errorf("compiled snapshot is invalid: %v", errs)
	}
}

// TestCompileUserListWithoutUsers: a domain whose stored user list (from a
// release before "user::comment" was refused) has no usable line, or whose
// user list the state does not hold (it was served without
// authentication), is marked invalid, never served without the
// authentication it asked for (nor left out, which had the default domain
// serve its name), and its listener's other domains still apply.
func TestCompileUserListWithoutUsers(t *testing.T) {
	for name, certs := range map[string][]model.Object{
		"no usable line": {&model.Certificate{Base: model.Base{ID: "cert-users"}, Content: "alice::ops\nbob::dev\n"}},
		"no user list":   nil,
	} {
		st := &State{Objects: map[string][]model.Object{
			model.KindProxy:       {&model.Proxy{Base: model.Base{ID: "link-1"}, IP: "127.0.0.1", Status: model.ProxyRunning}},
			model.KindCertificate: certs,
			model.KindListener:    {&model.Listener{Base: model.Base{ID: "listener-h"}, ProxyID: "link-1", Protocol: model.HTTP, Port: 80}},
			model.KindDomain: {&model.Domain{Base: model.Base{ID: "d-1"}, ListenerID: "listener-h", Host: "locked.test",
				BasicAuth: 1, BasicAuthConfID: "cert-users"},
				&model.Domain{Base: model.Base{ID: "d-2"}, ListenerID: "listener-h", Host: "open.test"}},
		}}
		snap := Compile(st, Settings{})
		l := snap.Proxies[0].HTTPListeners[0]
		if len(l.Domains) != 2 || l.Domains[0].Host != "locked.test" || !strings.HasPrefix(l.Domains[0].Invalid, "basic auth: ") ||
			l.Domains[1].Host != "open.test" || l.Domains[1].Invalid != "" {
			t.Errorf("%s: domains %+v; want locked.test invalid (basic auth) and open.test", name, l.Domains)
		}
		if err := l.Validate(); err != nil {
			t.Errorf("%s: listener invalid: %v", name, err)
		}
	}
}

// TestCompileWildcardCheckHost: a wildcard domain's rule an older release
// stored with its domain as the check domain ("*.w.test", the default then)
// is checked without one: no probe sends "Host: *.w.test", a name no
// origin serves (an origin checking Host read abnormal).
func TestCompileWildcardCheckHost(t *testing.T) {
	st := &State{Objects: map[string][]model.Object{
		model.KindProxy:    {&model.Proxy{Base: model.Base{ID: "link-1"}, IP: "127.0.0.1", Status: model.ProxyRunning}},
		model.KindListener: {&model.Listener{Base: model.Base{ID: "listener-h"}, ProxyID: "link-1", Protocol: model.HTTP, Port: 80}},
		model.KindDomain:   {&model.Domain{Base: model.Base{ID: "d-1"}, ListenerID: "listener-h", Host: "*.w.test"}},
		model.KindRule: {&model.Rule{Base: model.Base{ID: "rule-1"}, ListenerID: "listener-h", Domain: "*.w.test", Path: "/",
			Scheduler: "rr", HealthCheck: 1, ForwardProtocol: "default", ForwardHost: "default", ServerNameIndicationSwitch: "OFF",
			Check: model.CheckParams{DelayLoop: 5, ConnectTimeout: 2, Path: "/", Method: "HEAD", StatusCode: []int64{200}, Domain: "*.w.test"}}},
	}}
	snap := Compile(st, Settings{})
	if len(snap.Proxies) != 1 || len(snap.Proxies[0].HTTPListeners) != 1 || len(snap.Proxies[0].HTTPListeners[0].Domains) != 1 ||
		len(snap.Proxies[0].HTTPListeners[0].Domains[0].Rules) != 1 {
		t.Fatalf("compiled %+v; want one rule", snap.Proxies)
	}
	if h := snap.Proxies[0].HTTPListeners[0].Domains[0].Rules[0].Health; !h.Enabled || h.Host != "" {
		t.Errorf("rule health %+v; want checks on, with no Host (the origin's address)", h)
	}
}

// TestCompileUnreadableCertificateFailsClosed guards against serving with
// less verification than asked for: a client CA, origin CA or key the
// compiler cannot read (a row that did not decode, one not stored, a key
// that does not unseal) marks its listener or domain invalid, with why,
// instead of compiling an empty CA list, which the edge takes for "no
// check" (mutual TLS off, origins unverified). A domain's material fails
// that domain alone, not its listener.
func TestCompileUnreadableCertificateFailsClosed(t *testing.T) {
	cert := func(id string) *model.Certificate {
		return &model.Certificate{Base: model.Base{ID: id}, Content: "PEM " + id, KeySealed: "sealed-" + id}
	}
	listener := func(id string, port int64, clientCA string) *model.Listener {
		return &model.Listener{Base: model.Base{ID: id}, ProxyID: "link-1", Protocol: model.HTTPS, Port: port,
			CertificateID: "cert-l", AuthType: 1, ClientCertificateIDs: []string{clientCA}}
	}
	domain := func(id string, edit func(d *model.Domain)) *model.Domain {
		d := &model.Domain{Base: model.Base{ID: id}, ListenerID: "listener-s", Host: id + ".test"}
		edit(d)
		return d
	}
	st := &State{Objects: map[string][]model.Object{
		model.KindProxy:       {&model.Proxy{Base: model.Base{ID: "link-1"}, IP: "127.0.0.1", Status: model.ProxyRunning}},
		model.KindCertificate: {cert("cert-l"), cert("cert-ca"), cert("cert-sealed")},
		model.KindListener:    {listener("listener-s", 443, "cert-ca"), listener("listener-m", 444, "cert-bad")},
		model.KindDomain: {
			domain("ok", func(*model.Domain) {}),
			domain("key", func(d *model.Domain) { d.CertificateID = "cert-sealed" }),
			domain("client-ca", func(d *model.Domain) { d.ClientCertificateIDs = []string{"cert-bad"} }),
			domain("origin-ca", func(d *model.Domain) { d.RealServerAuth, d.RealServerCertificateIDs = 1, []string{"cert-bad"} }),
			domain("origin-ca-gone", func(d *model.Domain) { d.RealServerAuth, d.RealServerCertificateIDs = 1, []string{"cert-gone"} }),
			domain("gaap", func(d *model.Domain) { d.GaapAuth, d.GaapCertificateID = 1, "cert-sealed" }),
		},
	}, Undecodable: map[string]string{"cert-bad": "stored certificate cert-bad does not decode"}}
	open := func(sealed string) (string, error) {
		if sealed == "sealed-cert-sealed" {
			return "", errors.New("message authentication failed")
		}
		return "KEY", nil
	}
	snap := Compile(st, Settings{OpenKey: open})
	ls := map[string]snapshot.HTTPListener{}
	for _, l := range snap.Proxies[0].HTTPListeners {
		ls[l.ID] = l
	}
	if why := ls["listener-m"].Invalid; !strings.Contains(why, "client CA") || !strings.Contains(why, "cert-bad does not decode") {
		t.Errorf("mutual-TLS listener whose client CA does not decode: Invalid %q; want why", why)
	}
	s := ls["listener-s"]
	if s.Invalid != "" {
		t.Errorf("listener-s Invalid %q; want its domains to fail alone", s.Invalid)
	}
	want := map[string]string{
		"ok": "", "key": "certificate: key of cert-sealed does not unseal: message authentication failed",
		"client-ca": "client CA: stored certificate cert-bad", "origin-ca": "origin CA: stored certificate cert-bad",
		"origin-ca-gone": "origin CA: cert-gone is not stored",
		"gaap":           "origin client certificate: key of cert-sealed does not unseal",
	}
	for _, d := range s.Domains {
		if w := want[d.ID]; w == "" && d.Invalid != "" || !strings.Contains(d.Invalid, w) {
			t.Errorf("domain %s: Invalid %q; want it to name %q", d.ID, d.Invalid, w)
		}
		delete(want, d.ID)
	}
	if len(want) > 0 {
		t.Errorf("domains not compiled: %v", want)
	}
	errs := snap.Validate()
	if len(errs) != 1 || errs[0].ID != "listener-m" {
		t.Errorf("validation errors %v; want listener-m's alone (the domains are left out by the edge, each alone)", errs)
	}
}
