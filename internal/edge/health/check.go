package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// check runs one probe of the configured kind and returns the addresses
// that failed it and those that passed, sorted. A DOMAIN origin is one
// service at several addresses, so it passes when any of them answers;
// each of them is probed (at once, so that a silent one does not hold up
// the others), as nginx and GAAP judge a name's addresses one by one:
// one whose server is up but whose application fails, which every
// connect reaches, is taken out of the rotation (record). A check that
// passes feeds lrtt.
func (b *Backend) check() (failed, passed []netip.Addr, err error) {
	p := b.addrs.Load()
	if p == nil || len(*p) == 0 {
		return nil, nil, ErrUnresolved
	}
	addrs := (*p)[:min(len(*p), maxCheckedAddrs)]
	errs := make([]error, len(addrs))
	rtts := make([]time.Duration, len(addrs))
	probe := func(i int) {
		ap := netip.AddrPortFrom(addrs[i], uint16(b.key.Port))
		if errs[i] = b.ownListener(ap); errs[i] == nil {
			rtts[i], errs[i] = b.checkAddr(ap)
		}
	}
	if len(addrs) == 1 {
		probe(0)
	} else {
		var wg sync.WaitGroup
		for i := range addrs {
			wg.Go(func() { probe(i) })
		}
		wg.Wait()
	}
	var best time.Duration
	for i, a := range addrs {
		switch {
		case errs[i] == nil:
			passed = append(passed, a)
			if rtts[i] > 0 && (best == 0 || rtts[i] < best) {
				best = rtts[i]
			}
		case LocalFailure(errs[i]): // Neither a pass nor a failure of the address (probe).
			if err == nil {
				err = errs[i]
			}
		default:
			failed = append(failed, a)
			if err == nil || LocalFailure(err) { // A failure of the origin's says more than a local one.
				err = errs[i]
			}
		}
	}
	if len(passed) > 0 {
		err = nil
	}
	if best > 0 {
		b.ObserveRTT(best)
	}
	slices.SortFunc(failed, netip.Addr.Compare)
	slices.SortFunc(passed, netip.Addr.Compare)
	return failed, passed, err
}

// maxCheckedAddrs bounds the addresses of a name a check probes (TryAddrs
// orders the first 64).
const maxCheckedAddrs = 64

// checkAddr probes the origin at ap. rtt is the time to a TCP check's
// handshake (a connect like any other), to a UDP probe's reply or a
// PING's echo (UDP has no connect to time) or from an HTTP probe sent to
// its answer (what proxied requests measure too), else 0.
func (b *Backend) checkAddr(ap netip.AddrPort) (rtt time.Duration, err error) {
	c := b.key.Check
	switch {
	case b.key.Proto == snapshot.ProtoHTTP || b.key.Proto == snapshot.ProtoHTTPS:
		if b.tlsProbeErr != nil {
			return 0, b.tlsProbeErr
		}
		return checkHTTP(b.ctx, ap, b.key, b.tlsProbe, c.Timeout)
	case b.key.Proto == snapshot.ProtoTCP:
		start := time.Now()
		if err := checkTCP(b.ctx, ap.String(), c.Timeout); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	case c.CheckType == snapshot.CheckPing:
		return ping(b.ctx, ap.Addr(), c.Timeout)
	default:
		send, recv, err := c.Payloads()
		if err != nil {
			return 0, err
		}
		if c.Port != 0 { // The service may answer probes on another port.
			// The probe goes there, so that is what must not be one
			// of the node's own listeners (the origin's port was
			// checked by the caller, as for traffic).
			ap = netip.AddrPortFrom(ap.Addr(), uint16(c.Port))
			if err := b.ownListener(ap); err != nil {
				return 0, err
			}
		}
		return checkUDP(b.ctx, ap.String(), send, recv, c.Timeout)
	}
}

// checkTCP succeeds when a TCP handshake completes within timeout. The
// checks end early when ctx does.
func checkTCP(ctx context.Context, addr string, timeout time.Duration) error {
	c, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// replyBufs are what UDP probes read replies into. The expected reply may
// sit anywhere in the origin's answer, so a buffer holds any datagram (the
// largest UDP payload is 65527 bytes, over IPv6); a pool spares each check
// the allocation.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// checkUDP sends the probe and waits for a reply. With an expected reply,
// the reply must contain it. Without one, only an ICMP port unreachable
// (seen as ECONNREFUSED on a connected socket) fails the check: silence is
// the normal answer of most UDP services. rtt is the time to a good reply
// (0 without one).
func checkUDP(ctx context.Context, addr string, send, recv []byte, timeout time.Duration) (rtt time.Duration, err error) {
	c, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "udp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	defer context.AfterFunc(ctx, func() { _ = c.Close() })()
	start := time.Now()
	_ = c.SetDeadline(start.Add(timeout))
	if len(send) == 0 {
		send = []byte{0} // Something must be sent to provoke an answer.
	}
	if _, err := c.Write(send); err != nil {
		return 0, err
	}
	bp := replyBufs.Get().(*[]byte)
	defer replyBufs.Put(bp)
	buf := *bp
	n, err := c.Read(buf)
	var ne net.Error
	switch {
	case err != nil && errors.As(err, &ne) && ne.Timeout():
		if len(recv) == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("no reply within %v", timeout)
	case err != nil:
		return 0, err
	case len(recv) > 0 && !bytes.Contains(buf[:n], recv):
		return 0, fmt.Errorf("%d-byte reply %.64q lacks the expected %d bytes %.64q", n, buf[:n], len(recv), recv)
	}
	return time.Since(start), nil
}
