package server_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/xtest"
)

// storeAsOlderRelease rewrites the stored JSON of one object with edit, as
// an older release that accepted more would have stored it, and runs a
// controller pass on the result.
func storeAsOlderRelease(t *testing.T, api *xtest.API, kind, id string, edit func(doc map[string]any)) {
	t.Helper()
	patchStored(t, api, kind, id, edit)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Controller.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeErrorPageConnectionHeaderKeepsListener: releases before the
// API refused hop-by-hop and framing headers in an error page's SetHeaders
// stored pages with "Connection: close". After the upgrade such a page
// must not take its listener down: the header is left out, the rest of
// the page and every rule keep serving.
func TestUpgradeErrorPageConnectionHeaderKeepsListener(t *testing.T) {
	s := startSite(t, "/only", nil)
	var page struct{ ErrorPageId string }
	if err := s.Call(s.c, "CreateDomainErrorPageInfo", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
		"ErrorNos": []int{404}, "Body": "sorry", "SetHeaders": []map[string]any{{"HeaderName": "X-Page", "HeaderValue": "1"}}}, &page); err != nil {
		t.Fatal(err)
	}
	storeAsOlderRelease(t, s.API, model.KindErrorPage, page.ErrorPageId, func(doc map[string]any) {
		doc["setHeaders"] = append(doc["setHeaders"].([]any), map[string]any{"name": "Connection", "value": "close"})
	})
	if s.Controller.Failing(s.listener) {
		t.Errorf("listener %s fails to apply with an error page stored by an older release", s.listener)
	}
	if _, body := request(t, s.client, s.base, "www.e2e.test", "/only", nil); parse(t, body).Name != "a" {
		t.Errorf("GET /only: %q; want origin a", body)
	}
	resp, body := request(t, s.client, s.base, "www.e2e.test", "/other", nil)
	if resp.StatusCode != http.StatusNotFound || body != "sorry" || resp.Header.Get("X-Page") != "1" {
		t.Errorf("GET /other: %s %q X-Page %q; want the page: 404 \"sorry\" X-Page 1", resp.Status, body, resp.Header.Get("X-Page"))
	}
}

// TestUpgradeBasicAuthEmptyHashLineKeepsListener: releases before user
// lists were read as nginx reads them stored "user::comment" lines, which
// name no hash. After the upgrade only that line is left out: the other
// users still log in, the domain still asks for credentials, and the
// listener keeps serving.
func TestUpgradeBasicAuthEmptyHashLineKeepsListener(t *testing.T) {
	s := startSite(t, "/", nil)
	sum := sha1.Sum([]byte("secret"))
	cert := s.cert(0, "e2e:{SHA}"+base64.StdEncoding.EncodeToString(sum[:]), "")
	if err := s.Call(s.c, "SetAuthentication", map[string]any{"ListenerId": s.listener, "Domain": "www.e2e.test",
		"BasicAuth": 1, "BasicAuthConfId": cert}, nil); err != nil {
		t.Fatal(err)
	}
	storeAsOlderRelease(t, s.API, model.KindCertificate, cert, func(doc map[string]any) {
		doc["content"] = doc["content"].(string) + "\nalice::comment"
	})
	if s.Controller.Failing(s.listener) {
		t.Errorf("listener %s fails to apply with a user list stored by an older release", s.listener)
	}
	if resp, _ := request(t, s.client, s.base, "www.e2e.test", "/", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without credentials: %s; want 401", resp.Status)
	}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("e2e:secret"))}
	if _, body := request(t, s.client, s.base, "www.e2e.test", "/", basic); parse(t, body).Name != "a" {
		t.Errorf("GET / as e2e: %q; want origin a", body)
	}
	alice := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"))}
	if resp, _ := request(t, s.client, s.base, "www.e2e.test", "/", alice); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / as alice with an empty password: %s; want 401", resp.Status)
	}
}

// TestUpgradeGroupListenerOriginPortOfBindings: releases before Bind
// checked a group listener's origin port stored bindings on another port
// than the listener's RealServerPorts, and the data plane forwards to the
// binding's port. After the upgrade Describe answers the port served, and
// the unchanged binding set (what Terraform re-sends on every apply) is
// accepted again.
func TestUpgradeGroupListenerOriginPortOfBindings(t *testing.T) {
	n := startNode(t)
	g, _, ips := n.groupOf("SouthChina")
	l, port := n.groupTCPListener(g, ips[0], "ok")
	type listener struct {
		RealServerPort int64
		RealServerSet  []struct {
			RealServerId, RealServerIP string
			RealServerPort             int64
		}
	}
	describe := func() listener {
		var out struct{ ListenerSet []listener }
		if err := n.Call(n.c, "DescribeTCPListeners", map[string]any{"ListenerId": l}, &out); err != nil || len(out.ListenerSet) != 1 {
			t.Fatalf("DescribeTCPListeners: %+v, %v", out, err)
		}
		return out.ListenerSet[0]
	}
	b := describe().RealServerSet[0]
	storeAsOlderRelease(t, n.API, model.KindListener, l, func(doc map[string]any) {
		doc["realServerPort"] = b.RealServerPort%65535 + 1 // RealServerPorts said another port
	})
	if got := describe(); got.RealServerPort != b.RealServerPort {
		t.Errorf("Describe: RealServerPort %d, its binding (the port served) is on %d", got.RealServerPort, b.RealServerPort)
	}
	n.bind(l, map[string]netip.AddrPort{b.RealServerId: netip.AddrPortFrom(netip.MustParseAddr(b.RealServerIP), uint16(b.RealServerPort))})
	if got := fetch(t, netip.AddrPortFrom(ips[0], uint16(port))); got != "ok" {
		t.Errorf("after re-binding: %q; want the origin's ok", got)
	}
}
