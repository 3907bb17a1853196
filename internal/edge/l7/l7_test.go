package l7

import (
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestCheckHash(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	y := "$2y$" + string(bc[4:]) // htpasswd -B spelling.
	for _, tc := range []struct {
		name, hash, pass string
		want             bool
	}{
		{"bcrypt", string(bc), "pw", true},
		{"bcrypt wrong", string(bc), "px", false},
		{"bcrypt 2y", y, "pw", true},
		{"sha", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password", true},
		{"sha wrong", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "Password", false},
		{"plain", "FSGdT", "FSGdT", true},
		{"apr1 is not recognised", "$apr1$x$y", "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkHash(tc.hash, tc.pass); got != tc.want {
				t.Errorf("checkHash(%q, %q) = %v; want %v", tc.hash, tc.pass, got, tc.want)
			}
		})
	}
}

func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct{ spec, host, want string }{
		{"https", "a.test", "https://a.test/p?q=1"},
		{"https:", "a.test:8080", "https://a.test/p?q=1"},
		{"https:443", "a.test", "https://a.test/p?q=1"},
		{"https:8443", "a.test", "https://a.test:8443/p?q=1"},
		{"https://b.test/", "a.test", "https://b.test/p?q=1"},
		{"https", "[::1]:80", "https://[::1]/p?q=1"},
	} {
		r := httptest.NewRequest("GET", "/p?q=1", nil)
		r.Host = tc.host
		if got := redirectURL(tc.spec, r); got != tc.want {
			t.Errorf("redirectURL(%q, host %q) = %q; want %q", tc.spec, tc.host, got, tc.want)
		}
	}
}

func TestVhostMatch(t *testing.T) {
	ex, w1, w2, def := &vhost{host: "a.test"}, &vhost{suffix: ".test"}, &vhost{suffix: ".b.test"}, &vhost{host: "d"}
	h := &Handler{exact: map[string]*vhost{"a.test": ex}, wild: []*vhost{w2, w1}, def: def}
	for host, want := range map[string]*vhost{"a.test": ex, "x.b.test": w2, "x.y.test": w1, "b.test": w1, "test": def, "other": def} {
		if got := h.match(host); got != want {
			t.Errorf("match(%q) = %+v; want %+v", host, got, want)
		}
	}
}
