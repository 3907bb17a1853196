package l7

import (
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/l4"
	"github.com/opengaap/opengaap/internal/edge/stats"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestBadDomainCertSkipsDomainOnly: a domain whose certificate does not
// parse, or that the control plane marked invalid (a CA or key it could
// not read: snapshot.Domain.Invalid), is left out, it and its rules
// reported in Skipped with why (their names kept, refused: vhost.out),
// while the listener's other domains are built and served.
func TestBadDomainCertSkipsDomainOnly(t *testing.T) {
	env := &Env{Pool: health.NewPool(health.Options{}), Stats: stats.NewRegistry(), Transports: NewTransports(0)}
	t.Cleanup(env.Pool.Close)
	rule := func(id string) []snapshot.Rule {
		return []snapshot.Rule{{ID: id, Path: "/", Scheduler: snapshot.SchedRR,
			Origins: []snapshot.Origin{{ID: "o", Host: "127.0.0.1", Port: 1, Weight: 1}}}}
	}
	l := &snapshot.HTTPListener{ID: "l", Protocol: snapshot.ProtoHTTPS, Port: 443, TLS: selfSigned(t), Domains: []snapshot.Domain{
		{ID: "da", Host: "a.test", Rules: rule("ra")},
		{ID: "db", Host: "b.test", TLS: &snapshot.TLS{CertPEM: "bad", KeyPEM: "bad"}, Rules: rule("rb")},
		{ID: "dc", Host: "c.test", Invalid: "origin CA: cert-x is not stored", Rules: rule("rc")},
	}}
	h, err := Build(env, l, l4.NewProxy("p", nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Release)
	if len(h.Skipped) != 4 || !strings.Contains(h.Skipped["db"], "b.test") || h.Skipped["rb"] != h.Skipped["db"] ||
		!strings.Contains(h.Skipped["dc"], "c.test: origin CA: cert-x") || h.Skipped["rc"] != h.Skipped["dc"] {
		t.Errorf("skipped: %q; want db and rb, for b.test's certificate, dc and rc for c.test's origin CA", h.Skipped)
	}
	served := func(host string) bool { v := h.match(host); return v != nil && !v.out }
	if served("b.test") || served("c.test") || !served("a.test") {
		t.Errorf("b.test served: %v, c.test served: %v, a.test served: %v; want only a.test",
			served("b.test"), served("c.test"), served("a.test"))
	}
}
