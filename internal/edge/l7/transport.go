package l7

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge/health"
)

// Origin-side limits. A connect that fails or times out is retried on
// another origin (idempotent requests only); a slow answer is a 504.
const (
	DialTimeout           = 5 * time.Second
	ResponseHeaderTimeout = 60 * time.Second // nginx proxy_read_timeout.
	// OriginReadTimeout bounds each wait for an answer's next bytes once
	// its head is in (nginx's proxy_read_timeout is between two reads): an
	// origin that stalls mid-body cannot hold the client for ever.
	OriginReadTimeout = 60 * time.Second
	OriginIdleTimeout = 90 * time.Second
	// MaxOriginHeaderBytes bounds an origin answer's head on both origin
	// pools (h1Client's readFinal, http.Transport's
	// MaxResponseHeaderBytes): a larger one is a 502 and its connection
	// is closed. The client side's MaxHeaderBytes; nginx's
	// proxy_buffer_size (4 or 8 KiB by default) is stricter.
	MaxOriginHeaderBytes = 64 << 10
	MaxIdlePerOrigin     = 64
	// originSessions bounds the TLS sessions kept per transport for
	// resumption, one per origin name (or IP address without one).
	originSessions = 64
	// hostsIdle bounds the idle connections a transport verifying origins
	// against each request's host keeps, all hosts and origins together
	// (MaxIdlePerOrigin each): 64 hosts' worth, about as much memory as
	// 64 origins of other setups could hold.
	hostsIdle = 64 * MaxIdlePerOrigin
)

// responseHeaderTimeout is ResponseHeaderTimeout; a variable so that
// tests need not wait a minute.
var responseHeaderTimeout = ResponseHeaderTimeout

// transportKey is the identity of an origin-side TLS setup; rules with the
// same one share a transport, hence its keep-alive connection pools.
// Plain-HTTP rules have the zero key: TLS settings mean nothing to them.
// It is the health package's OriginTLS, which HTTPS checks handshake with
// too, so that they verify origins exactly as the requests do.
type transportKey = health.OriginTLS

// Transports holds origin transports by TLS setup, held by the rules that
// use them so that a configuration swap keeps warm keep-alive connections.
// The pools are shared by rules, not owned by one: when a rule goes, its
// transport closes the idle connections to the addresses no remaining rule
// of that transport uses (release). Safe for concurrent use.
type Transports struct {
	mu          sync.Mutex
	m           map[transportKey]*transportRef
	readTimeout time.Duration // OriginReadTimeout, or a test's.
}

type transportRef struct {
	t     *http.Transport
	conns *originConns // t's connections.
	h1    *h1Client    // Plain-HTTP requests without body (h1client.go).
	rules map[*rule]struct{}
}

// NewTransports returns an empty cache whose origin connections wait at
// most readTimeout for each read of an answer's body (0:
// OriginReadTimeout).
func NewTransports(readTimeout time.Duration) *Transports {
	return &Transports{m: map[transportKey]*transportRef{}, readTimeout: cmp.Or(readTimeout, OriginReadTimeout)}
}

// acquire sets ru.transport and ru.h1 to the transports of ru.tkey,
// created on first use, and holds them for ru, whose origins must be
// set: their addresses are in use until release. The h1Client is for
// plain-HTTP origins only (the zero key); nil otherwise.
func (ts *Transports) acquire(ru *rule) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	r := ts.m[ru.tkey]
	if r == nil {
		conns := &originConns{m: map[netip.AddrPort]map[*readTimeoutConn]struct{}{}}
		t, err := newTransport(ru.tkey, ts.readTimeout, conns)
		if err != nil {
			return err
		}
		r = &transportRef{t: t, conns: conns, rules: map[*rule]struct{}{}}
		if ru.tkey == (transportKey{}) {
			r.h1 = newH1Client(originDialer(), ts.readTimeout)
		}
		ts.m[ru.tkey] = r
	}
	r.rules[ru] = struct{}{}
	ru.transport, ru.h1 = r.t, r.h1
	return nil
}

// release lets go of the transports of rules (a handler's, all at once:
// each transport is looked over once). A transport no rule holds any more
// closes its idle connections; one still held closes those to the
// addresses none of its remaining rules uses (retire), the released
// rules' ones among them, as a layer-4 listener's origin connections end
// with its drain, which its handler's release follows. Requests still in
// flight finish normally; their connections are then closed, not pooled.
func (ts *Transports) release(rules ...*rule) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	left := map[*transportRef]bool{}
	for _, ru := range rules {
		r := ts.m[ru.tkey]
		if r == nil {
			continue
		}
		delete(r.rules, ru)
		left[r] = len(r.rules) > 0
		if len(r.rules) == 0 {
			delete(ts.m, ru.tkey)
			r.t.CloseIdleConnections()
			if r.h1 != nil {
				r.h1.close()
			}
		}
	}
	for r, held := range left {
		if held {
			r.retire()
		}
	}
}

// retire closes the connections of r's pools to addresses none of its
// rules uses now (a domain origin's, its current resolution's): idle ones
// at once, those in use when their exchange ends.
func (r *transportRef) retire() {
	used := map[netip.AddrPort]bool{}
	for ru := range r.rules {
		for _, o := range ru.origins {
			for _, ap := range o.backend.Addrs() {
				used[ap] = true
			}
		}
	}
	gone := func(ap netip.AddrPort) bool { return !used[ap] }
	r.conns.retire(gone)
	if r.h1 != nil {
		r.h1.retire(gone)
	}
}

// originConns are a Transport's open origin connections by address: the
// Transport can close only all its idle connections, those of addresses
// still in use included (retire).
type originConns struct {
	mu sync.Mutex
	m  map[netip.AddrPort]map[*readTimeoutConn]struct{}
}

func (s *originConns) add(c *readTimeoutConn) {
	s.mu.Lock()
	if s.m[c.ap] == nil {
		s.m[c.ap] = map[*readTimeoutConn]struct{}{}
	}
	s.m[c.ap][c] = struct{}{}
	s.mu.Unlock()
}

func (s *originConns) remove(c *readTimeoutConn) {
	s.mu.Lock()
	if cs := s.m[c.ap]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(s.m, c.ap)
		}
	}
	s.mu.Unlock()
}

// retire closes the idle connections to the addresses gone reports no
// rule uses any more, and has the others closed as the Transport parks
// them (readTimeoutConn.parked).
func (s *originConns) retire(gone func(netip.AddrPort) bool) {
	var retired []*readTimeoutConn
	s.mu.Lock()
	for ap, cs := range s.m {
		if gone(ap) {
			for c := range cs {
				retired = append(retired, c)
			}
			delete(s.m, ap)
		}
	}
	s.mu.Unlock()
	for _, c := range retired {
		// parked stores idle, then loads retired: one of the two sees
		// the other's store, and closes.
		c.retired.Store(true)
		if c.idle() {
			_ = c.Close()
		}
	}
}

// perHost reports whether k verifies origins against the host each
// request asked for: a rule of a wildcard domain whose origin certificates
// are verified (RealServerAuth) with no fixed name (originName), where
// each request's origin certificate must cover the host that matched the
// wildcard.
//
// Such a transport keeps a connection verified for one host from carrying
// another host's requests by pooling connections by host as well as by
// origin: the request's URL names the origin by an alias that includes the
// host (hostAlias), and the Transport, which pools by that address, dials
// the origin and verifies its certificate for the host the alias names
// (dialHostTLS). One transport, hence one parse of the CAs and one
// session cache (a wildcard domain's hosts share their origins'
// certificate, so a new host's first handshake is resumed, and verified
// for that host all the same), serves every host: MaxIdleConns bounds
// the idle connections of all hosts together (hostsIdle) and evicts the
// least recently used, so however many hosts are in use, or a client makes
// up, each keeps warm connections while it is busy, and memory stays
// bounded. One transport per host (as before) churned every connection
// once more hosts were in use than it held.
func perHost(k transportKey) bool { return k.Roots != "" && k.VerifyName == "" }

// hostAlias is the address a request of a perHost rule asks its transport
// for: the origin ap, and the host its certificate must cover. The
// Transport only keys its pools by it and hands it to dialHostTLS.
func hostAlias(host string, ap netip.AddrPort) string {
	return net.JoinHostPort(host+"/"+ap.Addr().String(), strconv.Itoa(int(ap.Port())))
}

// dialHostTLS dials the origin an alias names (hostAlias, in the
// Transport's host:port form) and verifies its certificate for the
// alias's host, as the Transport's own TLS does for other setups.
func dialHostTLS(dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config,
	roots *x509.CertPool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		alias, port, err := net.SplitHostPort(addr)
		i := strings.LastIndexByte(alias, '/') // An IP has none; a host may (it then covers nothing).
		if err != nil || i < 0 {
			return nil, fmt.Errorf("origin address %q names no host to verify", addr)
		}
		host, ip := alias[:i], alias[i+1:]
		c, err := dial(ctx, network, net.JoinHostPort(ip, port))
		if err != nil {
			return nil, err
		}
		hc := cfg.Clone() // Shares the session cache.
		if hc.ServerName == "" {
			// As the Transport does: the IP keys the session cache and is
			// never sent as SNI.
			hc.ServerName = ip
		}
		hc.VerifyConnection = func(cs tls.ConnectionState) error { return health.VerifyOrigin(cs, roots, host) }
		tc := tls.Client(c, hc)
		hctx, cancel := context.WithTimeout(ctx, DialTimeout) // TLSHandshakeTimeout does not apply here.
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = c.Close()
			return nil, handshakeFailed(network, err)
		}
		return tc, nil
	}
}

func originDialer() *net.Dialer {
	return &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
}

func newTransport(k transportKey, readTimeout time.Duration, conns *originConns) (*http.Transport, error) {
	d := originDialer()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		tc := &readTimeoutConn{Conn: c, rc: rc, timeout: readTimeout}
		if ap, err := netip.ParseAddrPort(addr); err == nil && conns != nil { // nil: a test's, not held.
			tc.conns, tc.ap = conns, ap
			conns.add(tc)
			if d, _ := ctx.Value(ownDialsKey{}).(*ownDials); d != nil { // The dial keeps the request's values.
				d.dialled(tc)
			}
		}
		return tc, nil
	}
	cfg, roots, err := originTLS(k)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{
		DialContext:            dial,
		TLSClientConfig:        cfg,
		TLSHandshakeTimeout:    DialTimeout,
		ResponseHeaderTimeout:  responseHeaderTimeout,
		IdleConnTimeout:        OriginIdleTimeout,
		MaxIdleConns:           0, // Bounded per origin instead.
		MaxIdleConnsPerHost:    MaxIdlePerOrigin,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxOriginHeaderBytes,
		// Origins speak HTTP/1.1, as behind nginx; gzip is passed through.
		DisableCompression: true,
	}
	if perHost(k) {
		t.DialTLSContext, t.MaxIdleConns = dialHostTLS(dial, cfg, roots), hostsIdle
	}
	return t, nil
}

// originTLS is the client config of k's origin connections (verified
// for k.VerifyName, or by dialHostTLS for each request's host) and the
// roots it verifies against (nil: none).
func originTLS(k transportKey) (*tls.Config, *x509.CertPool, error) {
	cfg, roots, err := k.Config("")
	if err != nil {
		return nil, nil, err
	}
	// Sessions are resumed, as nginx's proxy_ssl_session_reuse does: a
	// pooled connection that an origin closed is replaced at the cost of
	// an abbreviated handshake. They are cached by the name sent (else the
	// origin's IP), one per name: one origin's session offered to another
	// under the same name is refused and a full handshake done.
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(originSessions)
	return cfg, roots, nil
}

// readTimeoutConn is an http.Transport origin connection whose reads wait
// at most timeout since the last read or write: the Transport starts its
// read for the answer when a connection is dialled or pooled, before the
// request is written, so the request's writes (a long upload included)
// move the deadline too. An idle pooled connection's background read thus
// ends after timeout, closing it. Reads and writes come from the
// Transport's two goroutines; the deadline moves once a second at most.
type readTimeoutConn struct {
	net.Conn
	rc      syscall.RawConn
	timeout time.Duration
	rd      movingDeadline
	// rdMu orders the read deadline's moves: Read and Write both move it,
	// from two goroutines, and a Read's shorter deadline set after a
	// Write's longer one would cut the wait for the head.
	rdMu sync.Mutex
	off  atomic.Bool // Upgraded: see upgraded.
	// send bounds each write once the connection is upgraded (upgraded),
	// through wd.
	send time.Duration
	wd   movingDeadline
	// asked: a request was written and no byte of its answer read yet;
	// the wait is then at least ResponseHeaderTimeout, as on the direct
	// path, whatever the body timeout.
	asked atomic.Bool
	// check: the Transport took the connection again from its pool
	// (roundTrip); the next write checks it first.
	check atomic.Bool
	// answer is where the exchange of the request that last took the
	// connection stands (reqUnsent...): whether its answer can be one
	// (strayed).
	answer atomic.Uint32
	// spent: the connection carried an HTTP/1.0 answer (spend) and is
	// not to carry another.
	spent atomic.Bool
	// expired: a read's deadline fired, its error kept for the write it
	// cuts short (Write).
	expired atomic.Pointer[error]
	peek    [1]byte
	// conns holds the connection under its address ap while it is open
	// (nil: not held). retired: no rule uses ap any more
	// (originConns.retire), so it closes once idle.
	conns   *originConns
	ap      netip.AddrPort
	retired atomic.Bool
	// use is twice the requests the Transport gave the connection (taken),
	// plus one while it is parked after the last of them (parked, idle).
	// The Transport may hand a freed connection to the next request before
	// it reports the previous one's parking: a parking that a newer
	// request overtook must not mark the connection idle, or retire would
	// close it under that request. A connection dialled for a request that
	// took another one is parked at turn 0 (ownDials).
	use atomic.Uint64
}

// ownDials are the connections the Transport dialled for one request
// (roundTrip) while the request has not taken a connection. The
// Transport dials for a request that finds none idle, but serves it on
// whichever connection is ready first: when another request frees one,
// the connection dialled goes to the idle pool (putOrCloseIdleConn) with
// no trace of it, its use still 0, and retire took it for one in use,
// leaving it open to a retired address until its read deadline. So each
// dial the request did not take is marked parked once the request took a
// connection, or ended, whichever comes last of that and the dial.
type ownDials struct {
	mu      sync.Mutex
	pending []*readTimeoutConn
	settled bool // The request took a connection, or ended.
}

type ownDialsKey struct{}

func (d *ownDials) dialled(c *readTimeoutConn) {
	d.mu.Lock()
	if !d.settled {
		d.pending = append(d.pending, c)
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	c.parked(0)
}

// unsettle: the Transport asks for a connection again (a request sent
// again after its connection failed).
func (d *ownDials) unsettle() {
	d.mu.Lock()
	d.settled = false
	d.mu.Unlock()
}

// settle: the request took got (nil: none, it ended); the other
// connections dialled for it are spares.
func (d *ownDials) settle(got *readTimeoutConn) {
	d.mu.Lock()
	spares := d.pending
	d.pending, d.settled = nil, true
	d.mu.Unlock()
	for _, c := range spares {
		if c != got {
			c.parked(0)
		}
	}
}

// The states of readTimeoutConn.answer.
const (
	reqUnsent   = iota // Taken by a request, none of which is written yet.
	reqSent            // Its first write began; no read returned bytes since.
	answerHeard        // A read returned bytes since.
	answerStray        // Its answer began before: never relayed (strayed).
)

// taken records that a request got the connection and returns its turn.
func (c *readTimeoutConn) taken() uint64 {
	c.answer.Store(reqUnsent)
	for {
		s := c.use.Load()
		if n := (s | 1) + 1; c.use.CompareAndSwap(s, n) {
			return n
		}
	}
}

// idle reports whether the Transport parked the connection and no
// request took it since.
func (c *readTimeoutConn) idle() bool { return c.use.Load()&1 == 1 }

func (c *readTimeoutConn) Close() error {
	if c.conns != nil {
		c.conns.remove(c)
	}
	return c.Conn.Close()
}

// parked records that the Transport put c in its pool after the answer
// of turn, unless a later request took it already; a connection retired
// meanwhile is closed instead of waiting there.
func (c *readTimeoutConn) parked(turn uint64) {
	if c.use.CompareAndSwap(turn, turn|1) && c.retired.Load() {
		_ = c.Close()
	}
}

func (c *readTimeoutConn) Read(p []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Read(p)
	if n > 0 && c.asked.Load() {
		c.asked.Store(false)
	}
	if n > 0 && c.answer.Load() == reqSent {
		c.answer.CompareAndSwap(reqSent, answerHeard)
	}
	if err != nil && isTimeout(err) {
		c.expired.Store(&err)
	}
	return n, err
}

// Write sends p. The first write on a connection taken again from the
// pool fails, with nothing written, when the origin closed it or sent
// anything while it was idle (idleOpen, as the direct exchange checks its
// own), or its address was retired as it was parked: the Transport then
// sends the request on another connection. So does any write of a request
// whose answer strayed before it (strayed).
//
// A write that fails once the read deadline fired fails with that read's
// timeout. The Transport's ResponseHeaderTimeout starts only once the
// request is written, so an origin that stops reading an upload and never
// answers is cut off by the read deadline alone: the Transport closes the
// connection under the blocked write and reports that write's error
// ("use of closed network connection": a failed body copy outranks the
// read's error there). It is an origin timeout, as nginx's
// proxy_send_timeout is: a 504 (errorHandler) and the origin made suspect
// (rule.failed), as when it hangs on a small body.
func (c *readTimeoutConn) Write(p []byte) (int, error) {
	if c.check.Load() && c.check.Swap(false) && (c.spent.Load() || c.retired.Load() || !c.idleOpen()) {
		return 0, errIdleClosed
	}
	// After the check: bytes it finds fail the write, those read before
	// it are in the Transport's buffers, and strayed finds them there.
	if s := c.answer.Load(); s == reqUnsent || s == answerStray {
		if !c.answer.CompareAndSwap(reqUnsent, reqSent) {
			return 0, errIdleClosed // A stray answer came first: the origin gets nothing.
		}
	}
	if c.off.Load() {
		if d, move := c.wd.next(c.send); move {
			_ = c.Conn.SetWriteDeadline(d)
		}
		return c.Conn.Write(p)
	}
	c.asked.Store(true)
	c.extend()
	n, err := c.Conn.Write(p)
	if e := c.expired.Load(); err != nil && e != nil {
		err = *e
	}
	return n, err
}

func (c *readTimeoutConn) extend() {
	if c.off.Load() {
		return
	}
	if _, move := c.rd.next(c.wait()); !move {
		return
	}
	// Decided again under the lock, from asked as it is now: whichever
	// of Read and Write sets last sets what both would agree on.
	c.rdMu.Lock()
	d := coarseDeadline(c.wait())
	c.rd.at.Store(d.Unix())
	_ = c.Conn.SetReadDeadline(d)
	c.rdMu.Unlock()
}

// wait is how long a read may wait from now.
func (c *readTimeoutConn) wait() time.Duration {
	if !c.asked.Load() {
		return c.timeout
	}
	// A second past the Transport's own wait for the head, so that it
	// ends first: a failed read of a pooled connection would have it send
	// an idempotent request again, and wait as long once more.
	return max(c.timeout, responseHeaderTimeout+time.Second)
}

// strayed reports, as the Transport begins to read the answer to the
// request that took c last, whether that answer is one nobody asked for:
// its first bytes were read before the request began to go out, so the
// origin sent them before it could have read the request. An origin that
// sends an answer twice, or bytes past its answer's end, in one write
// leaves them in the Transport's buffers (its bufio, or a TLS record
// decrypted whole), where the check before the request (Write, idleOpen)
// cannot see them; and the Transport hands a freed connection straight
// to a request waiting for one, before it looks at what is buffered
// there, so that request would read them as its answer: another client's
// request, maybe. Such a connection is closed at once (its real answer,
// which may follow, must not reach the next request either), and sent,
// whether any of the request went out, which decides whether it may be
// sent again (roundTrip). Bytes that come while the request is being
// written cannot be told from its answer, as on the direct exchange.
func (c *readTimeoutConn) strayed() (stray, sent bool) {
	for {
		s := c.answer.Load()
		if s != reqUnsent && s != reqSent {
			return false, false
		}
		if c.answer.CompareAndSwap(s, answerStray) {
			_ = c.Close()
			return true, s == reqSent
		}
	}
}

func (c *readTimeoutConn) idleOpen() bool {
	open := false // Control fails on a closed connection.
	_ = c.rc.Control(func(fd uintptr) { open = idleOpen(int(fd), &c.peek) })
	return open
}

// originConn is the readTimeoutConn under c, a connection the Transport
// reports (httptrace.GotConnInfo), or nil.
func originConn(c net.Conn) *readTimeoutConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	rc, _ := c.(*readTimeoutConn)
	return rc
}

// spend keeps an origin connection the Transport reports from carrying
// another request after its answer resp, when that is an HTTP/1.0 one:
// ReadResponse drops the Transfer-Encoding of such an answer unseen and
// frames it by its Content-Length, and RFC 9112 (6.1) has the connection
// closed after an HTTP/1.0 message with one. The Transport pools the
// connection all the same; the next request's first write fails on it,
// nothing written (readTimeoutConn.Write), and goes on another.
func spend(c net.Conn, resp *http.Response) {
	if resp.ProtoAtLeast(1, 1) {
		return // Every answer but a rare HTTP/1.0 one: no assertions.
	}
	if rc := originConn(c); rc != nil {
		rc.spent.Store(true)
	}
}

// upgraded lifts the read timeout of an origin connection c upgraded to
// a WebSocket, which may stay quiet for as long as its users like (nginx
// would close it after proxy_read_timeout; users expect it to stay), and
// bounds each write to it by send (SendTimeout, as writes to clients; nginx's
// proxy_send_timeout): an origin that stops reading cannot hold the relay,
// which then reads nothing of its client, for ever. resp is the 101, whose
// body (endUpgraded) times c again once the client half-closes.
func upgraded(c net.Conn, resp *http.Response, send time.Duration) {
	rc := originConn(c)
	if rc == nil {
		return
	}
	rc.send = send // Before off, which publishes it to Write.
	rc.off.Store(true)
	_ = rc.Conn.SetReadDeadline(time.Time{})
	if u, ok := resp.Body.(*endUpgraded); ok {
		u.origin = rc
	}
}

// retime gives an upgraded connection's reads their timeout back: its
// client's side of the tunnel has ended (endUpgraded.CloseWrite), and what
// is left is the origin's answer.
func (c *readTimeoutConn) retime() {
	c.off.Store(false)
	c.rd.forget()
	c.extend()
}

// CloseWrite half-closes the connection (endUpgraded.CloseWrite, through
// the Transport's body).
func (c *readTimeoutConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// roundTrip sends req through t and returns the connection it went out on
// (for an upgrade). The Transport sends a request again, on another
// connection, when nothing of it was written on one it took again from its
// pool, whatever the method: the origin cannot have got it. So such a
// connection is checked before the request's first byte goes out
// (readTimeoutConn.Write), as the direct exchange checks its own: the
// Transport's background read closes a connection once it sees its FIN,
// but a FIN that comes just before a request may not have been seen yet,
// and a POST written to that connection would fail, never sent again: a
// 502 the origin never caused.
//
// A request with a body is sent again only if it has a GetBody. Its head
// goes out before its body is read (a proxied body is not one of the
// in-memory readers for which Request.Write holds the head back), so a
// request of which nothing was written has its whole body still unread:
// GetBody gives it again (unreadBody). A body that was read, hence partly
// or wholly sent, is refused: it is never sent twice, as before.
//
// A request that went out on a reused connection which the origin closed
// or reset before any byte of an answer (the keep-alive race) is sent
// again once if retriable (stale), as h1Client.send does, though on
// whichever connection the Transport picks, pooled or new (h1Client.send
// dials one): the Transport replays only the methods it takes for
// idempotent (GET, HEAD, OPTIONS), so a PUT or DELETE failed with a 502
// that made a healthy origin suspect.
//
// An answer that began before the request went out (readTimeoutConn.
// strayed) is an origin's unasked one, never relayed: the request is sent
// again, once, if the origin cannot have got it (nothing written, no body
// read) or may get it twice (retriable); else it fails (errStrayAnswer,
// a 502).
//
// When timed (an lrtt rule, the only reader), wait is the time from the
// request's last byte written to the answer's first byte
// (health.AnswerTimer); 0 otherwise, or when not measured.
func roundTrip(t *http.Transport, req *http.Request, timed bool) (resp *http.Response, conn net.Conn, wait time.Duration, err error) {
	var body *unreadBody
	if req.Body != nil && req.Body != http.NoBody {
		ok := false
		if body, ok = req.Body.(*unreadBody); !ok { // Wrapped by the rule for all its tries.
			body = &unreadBody{body: req.Body}
		}
	}
	for replayed := false; ; replayed = true {
		var again bool
		resp, conn, wait, again, err = roundTripOnce(t, req, body, timed)
		if !again || replayed {
			return resp, conn, wait, err
		}
	}
}

// errStrayAnswer: the origin answered a request before it was sent
// (roundTrip).
var errStrayAnswer = errors.New("origin sent an answer before the request")

// roundTripOnce is one try of roundTrip, with hooks of its own: those of
// a try whose stray answer was dropped may still run on the Transport's
// reading goroutine. body is req's (nil: none). again reports that the
// try failed in a way roundTrip sends the request again for, once: a stray
// answer, or a stale reused connection.
func roundTripOnce(t *http.Transport, req *http.Request, body *unreadBody, timed bool) (resp *http.Response, conn net.Conn, wait time.Duration, again bool, err error) {
	// The Transport may go on dialling for this request in the background
	// while it sends it on a connection another request freed: what a
	// dial's handshake says is read only for a request that got no
	// connection and failed with that very error (below).
	var handshake atomic.Pointer[error]
	var reused bool
	var turn uint64
	// taken is the connection the request got last (GotConn), for the
	// Transport's reading goroutine; stray the one whose answer strayed.
	var taken, stray atomic.Pointer[readTimeoutConn]
	var straySent atomic.Bool
	var answered atomic.Bool // Set from the Transport's reading goroutine.
	var at *health.AnswerTimer
	if timed {
		at = &health.AnswerTimer{}
	}
	dials := &ownDials{}
	trace := &httptrace.ClientTrace{GetConn: func(string) { dials.unsettle() }, GotConn: func(i httptrace.GotConnInfo) {
		conn, reused = i.Conn, i.Reused
		c := originConn(i.Conn)
		dials.settle(c)
		if c != nil {
			turn = c.taken()
			if i.Reused {
				c.check.Store(true)
			}
			taken.Store(c)
		}
	}, PutIdleConn: func(err error) {
		if c := originConn(conn); c != nil && err == nil {
			c.parked(turn)
		}
	}, TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
		if err != nil {
			handshake.Store(&err)
		}
	}, GotFirstResponseByte: func() {
		if c := taken.Load(); c != nil {
			if s, sent := c.strayed(); s {
				straySent.Store(sent)
				stray.Store(c)
				return
			}
		}
		answered.Store(true)
		if at != nil {
			at.FirstByte()
		}
	}}
	if at != nil {
		trace.WroteHeaders, trace.WroteRequest = at.Headers, at.Wrote
	}
	req = req.WithContext(context.WithValue(httptrace.WithClientTrace(req.Context(), trace), ownDialsKey{}, dials))
	if body != nil {
		req.Body, req.GetBody = body, body.again
	}
	resp, err = t.RoundTrip(req)
	dials.settle(nil)
	if c := stray.Load(); c != nil && c == originConn(conn) {
		if err == nil {
			_ = resp.Body.Close()
		}
		// Sent again if the origin cannot have got it or may get it twice.
		again = (body == nil || !body.read.Load()) && (!straySent.Load() || retriable(req))
		return nil, conn, 0, again, errStrayAnswer
	}
	if err != nil && reused && !answered.Load() && retriable(req) && closedEarly(err) && req.Context().Err() == nil {
		return resp, conn, 0, true, err // Stale: see roundTrip.
	}
	if h := handshake.Load(); err != nil && (conn == nil && h != nil && errors.Is(err, *h) ||
		conn != nil && !reused && !answered.Load() && alertReceived(err)) {
		err = handshakeFailed("tcp", err)
	}
	if at != nil {
		wait = at.Wait()
	}
	return resp, conn, wait, false, err
}

// handshakeFailed is a TLS handshake with an origin that failed (a
// plain-HTTP service on the port, an alert, a certificate not verified):
// a failed connect, as nginx's proxy_next_upstream error takes it, since
// no byte of the request was written (or, refused over TLS 1.3, read:
// alertReceived): the request is retried on another origin and the origin
// made suspect (isDialError).
func handshakeFailed(network string, err error) error {
	return &net.OpError{Op: "dial", Net: network, Err: handshakeError{err}}
}

// alertReceived reports whether err is a TLS alert the origin sent
// (crypto/tls's "remote error"). On a connection dialled for the request,
// before any byte of an answer, it is the origin refusing the handshake:
// over TLS 1.3 the client's side of the handshake ends before the server
// checks the client's certificate, so a refused one (none sent, or one it
// does not trust) comes back as an alert on the first read, after the
// request was written, where over TLS 1.2 it fails the handshake itself.
// The origin read none of the request, so roundTrip takes it as a failed
// handshake, as over TLS 1.2. An alert on a reused connection, or once an
// answer began, refuses nothing.
func alertReceived(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// handshakeError is a failed TLS handshake with an origin; a timeout stays
// one (net.OpError.Timeout asks its Err): a 504, as a connect timeout.
type handshakeError struct{ err error }

func (e handshakeError) Error() string { return "TLS handshake with the origin: " + e.err.Error() }
func (e handshakeError) Unwrap() error { return e.err }
func (e handshakeError) Timeout() bool { return isTimeout(e.err) }

// unreadBody is a request body the Transport may take again as long as
// none of it was read. Its Close leaves the body open: the Transport closes
// the body of a request that failed before it asks GetBody for another;
// the body is ReverseProxy's, which closes it when the request ends.
type unreadBody struct {
	body io.ReadCloser
	read atomic.Bool
}

var errBodySent = errors.New("request body already sent to the origin")

func (b *unreadBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.body.Read(p)
}

func (b *unreadBody) Close() error { return nil }

func (b *unreadBody) again() (io.ReadCloser, error) {
	if b.read.Load() {
		return nil, errBodySent
	}
	return b, nil
}
