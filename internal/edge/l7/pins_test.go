package l7

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// TestSkippedVersionNeverServed: a version set with a hole (TLSv1 and
// TLSv1.2, not TLSv1.1) serves the highest listed version a client
// offers, and refuses a client that offers only the skipped one.
func TestSkippedVersionNeverServed(t *testing.T) {
	st := selfSigned(t)
	st.MinVersion, st.MaxVersion, st.SkipVersions = snapshot.TLS10, snapshot.TLS12, []string{snapshot.TLS11}
	s := &serverTLS{}
	if err := s.finish(&Handler{}, *st, certCache{}); err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{GetConfigForClient: s.forHello}
	for _, c := range []struct {
		name     string
		min, max uint16
		want     uint16 // 0: refused
	}{
		{"all", tls.VersionTLS10, tls.VersionTLS13, tls.VersionTLS12},
		{"up to 1.1", tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS10},
		{"1.1 only", tls.VersionTLS11, tls.VersionTLS11, 0},
		{"1.3 only", tls.VersionTLS13, tls.VersionTLS13, 0},
	} {
		a, b := net.Pipe()
		sc := tls.Server(a, srv)
		go func() { _ = sc.Handshake(); _ = a.Close() }()
		cc := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: c.min, MaxVersion: c.max, ServerName: "a.test"})
		err := cc.Handshake()
		switch got := cc.ConnectionState().Version; {
		case c.want == 0 && err == nil:
			t.Errorf("%s: served version %#x; want refused", c.name, got)
		case c.want != 0 && (err != nil || got != c.want):
			t.Errorf("%s: version %#x, %v; want %#x", c.name, got, err, c.want)
		}
		_ = b.Close()
	}
}
