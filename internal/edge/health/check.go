package health

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/opengaap/opengaap/internal/snapshot"
)

// check runs one probe of the configured kind.
func (b *Backend) check() error {
	ap, err := b.Addr()
	if err != nil {
		return err
	}
	c := b.key.Check
	switch {
	case b.key.Proto == snapshot.ProtoHTTP || b.key.Proto == snapshot.ProtoHTTPS:
		if b.tlsProbeErr != nil {
			return b.tlsProbeErr
		}
		return checkHTTP(ap, b.key, b.tlsProbe, c.Timeout)
	case b.key.Proto == snapshot.ProtoTCP:
		start := time.Now()
		err := checkTCP(ap.String(), c.Timeout)
		if err == nil { // A check's handshake is a connect like any other: it keeps lrtt current.
			b.ObserveRTT(time.Since(start))
		}
		return err
	case c.CheckType == snapshot.CheckPing:
		return ping(ap.Addr(), c.Timeout)
	default:
		send, recv, err := c.Payloads()
		if err != nil {
			return err
		}
		if c.Port != 0 { // The service may answer probes on another port.
			ap = netip.AddrPortFrom(ap.Addr(), uint16(c.Port))
		}
		rtt, err := checkUDP(ap.String(), send, recv, c.Timeout)
		if rtt > 0 { // UDP has no connect to time: a probe's reply feeds lrtt.
			b.ObserveRTT(rtt)
		}
		return err
	}
}

// checkTCP succeeds when a TCP handshake completes within timeout.
func checkTCP(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// checkUDP sends the probe and waits for a reply. With an expected reply,
// the reply must contain it. Without one, only an ICMP port unreachable
// (seen as ECONNREFUSED on a connected socket) fails the check: silence is
// the normal answer of most UDP services. rtt is the time to a good reply
// (0 without one).
func checkUDP(addr string, send, recv []byte, timeout time.Duration) (rtt time.Duration, err error) {
	c, err := net.DialTimeout("udp", addr, timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetDeadline(start.Add(timeout))
	if len(send) == 0 {
		send = []byte{0} // Something must be sent to provoke an answer.
	}
	if _, err := c.Write(send); err != nil {
		return 0, err
	}
	buf := make([]byte, 2048)
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
		return 0, fmt.Errorf("reply %q lacks %q", buf[:n], recv)
	}
	return time.Since(start), nil
}
