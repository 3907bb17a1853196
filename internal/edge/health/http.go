package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opengaap/opengaap/internal/edge/mono"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// HTTPProbe is the comparable form of a snapshot.HTTPCheck's request and
// acceptance settings (timing and rise/fall stay in Key.Check), so equal
// checks share a backend.
type HTTPProbe struct {
	Method string
	Path   string
	Host   string
	// TLS is the handshake of an HTTPS probe, the rule's requests' own:
	// the same SNI (an origin behind a name-based TLS front end answers
	// only to its name), client certificate (GaapAuth: an origin that
	// requires one refuses a probe without it) and, with RealServerAuth,
	// verification (an origin whose certificate fails it fails every
	// request, so it fails its checks too). A wildcard domain's origins
	// with no fixed name are verified for Host, as a request's for its
	// host.
	TLS OriginTLS
	// Classes is a bit set of accepted status classes: bit n = nxx.
	Classes uint8
}

// ProbeOf normalises an HTTP check: defaults filled, classes as bits.
func ProbeOf(c snapshot.HTTPCheck) (HTTPProbe, snapshot.HealthCheck) {
	if !c.Enabled {
		return HTTPProbe{}, snapshot.HealthCheck{}
	}
	p := HTTPProbe{Method: c.Method, Path: c.Path, Host: c.Host}
	if p.Method == "" {
		p.Method = http.MethodHead
	}
	if p.Path == "" {
		p.Path = "/"
	}
	classes := c.StatusClasses
	if len(classes) == 0 {
		classes = []int{200, 300}
	}
	for _, n := range classes {
		p.Classes |= 1 << (n / 100)
	}
	return p, snapshot.HealthCheck{Enabled: true, Interval: c.Interval, Timeout: c.Timeout,
		Healthy: c.Healthy, Unhealthy: c.Unhealthy}
}

// probeClient sends checks. Connections are not reused, so a check always
// exercises connect (and the TLS handshake) as well. An HTTPS probe's
// handshake takes its config from its request's context (probeTLS).
var probeClient = &http.Client{
	Transport: &http.Transport{DialTLSContext: dialProbeTLS, DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // A redirect is an answer; its class decides.
	},
}

// probeTLS is the context key of an HTTPS probe's *tls.Config.
type probeTLS struct{}

// dialProbeTLS connects an HTTPS probe with the TLS settings its context
// carries.
func dialProbeTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	cfg, _ := ctx.Value(probeTLS{}).(*tls.Config)
	d := tls.Dialer{Config: cfg}
	return d.DialContext(ctx, network, addr)
}

// checkHTTP sends the probe and accepts the configured status classes.
// rtt is the time from the probe sent to its answer's first byte (an
// AnswerTimer), as on proxied requests, when the answer is accepted (else
// 0).
func checkHTTP(ctx context.Context, ap netip.AddrPort, k Key, tlsCfg *tls.Config, timeout time.Duration) (rtt time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, probeTLS{}, tlsCfg), timeout)
	defer cancel()
	var at AnswerTimer
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: at.Headers, WroteRequest: at.Wrote,
		GotFirstResponseByte: at.FirstByte})
	scheme := "http"
	if k.Proto == snapshot.ProtoHTTPS {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, k.HTTP.Method, scheme+"://"+ap.String()+k.HTTP.Path, nil)
	if err != nil {
		return 0, err
	}
	// The path as written: net/url re-escapes a path holding a byte it
	// would escape ('|', '{', '^', or non-ASCII) from its decoded form,
	// and "/a%2Fb|c" became "/a/b%7Cc", another path. Only the bytes a
	// request line cannot carry are escaped ("/café": "/caf%C3%A9").
	if p, _, _ := strings.Cut(k.HTTP.Path, "?"); !strings.HasPrefix(p, "//") {
		req.URL.Opaque = escapeUnsendable(p)
	}
	req.URL.RawQuery = escapeUnsendable(req.URL.RawQuery) // Kept raw by net/url.
	if k.HTTP.Host != "" {
		req.Host = k.HTTP.Host
	}
	req.Header.Set("User-Agent", "opengaap-health/1")
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if c := resp.StatusCode / 100; c > 7 || k.HTTP.Classes&(1<<c) == 0 {
		return 0, fmt.Errorf("status %d not accepted", resp.StatusCode)
	}
	return at.Wait(), nil
}

// AnswerTimer times an HTTP exchange from the request's last byte written
// to the answer's first byte (its status line): the origin's answer time,
// which is what lrtt ranks layer-7 origins by (connects are mostly pooled,
// and a slow application answers slowly over a fast network). Its methods
// are httptrace.ClientTrace's WroteHeaders, WroteRequest and
// GotFirstResponseByte, which http.Transport calls from its writing and
// reading goroutines. An answer that begins before the request is known
// written is timed from its head written instead: an early answer or a
// 100 Continue, and as often a quick origin's answer to a request the
// writing goroutine has sent but not yet reported (WroteRequest runs after
// the last write returns). Untimed, such an origin's trial would leave it
// ranked last (Backend.RTT) for StaleRTT.
type AnswerTimer struct{ head, wrote, wait atomic.Int64 }

// Headers is ClientTrace.WroteHeaders.
func (t *AnswerTimer) Headers() { t.head.Store(mono.Now()) }

// Wrote is ClientTrace.WroteRequest.
func (t *AnswerTimer) Wrote(i httptrace.WroteRequestInfo) {
	if i.Err == nil {
		t.wrote.Store(mono.Now())
	}
}

// FirstByte is ClientTrace.GotFirstResponseByte.
func (t *AnswerTimer) FirstByte() {
	from := t.wrote.Load()
	if from == 0 {
		from = t.head.Load()
	}
	if from != 0 {
		t.wait.Store(max(mono.Now()-from, 1))
	}
}

// Wait is the time measured, 0 if none was.
func (t *AnswerTimer) Wait() time.Duration { return time.Duration(t.wait.Load()) }

// escapeUnsendable percent-encodes the bytes of p a request line cannot
// carry (controls, space, DEL, non-ASCII), leaving the rest, escapes
// included, as written.
func escapeUnsendable(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(p) {
		if c := p[i]; c > ' ' && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
