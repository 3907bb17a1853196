package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

func serveTCP(ap netip.AddrPort, mode string) error {
	ln, err := net.Listen("tcp", ap.String())
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handleTCP(c, mode)
		}
	}()
	return nil
}

// handleTCP reads the header (if the mode has one) and one line, answers
// and closes.
func handleTCP(c net.Conn, mode string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := report{Proto: "tcp", Mode: mode, Local: c.LocalAddr().String(), Peer: c.RemoteAddr().String()}
	br := bufio.NewReader(c)
	if mode == "ppv1" || mode == "ppv2" {
		h, err := proxyproto.Read(br)
		switch {
		case err != nil:
			r.Error = "proxy header: " + err.Error()
		case h.Version != map[string]byte{"ppv1": 1, "ppv2": 2}[mode]:
			r.Error = "proxy header of the wrong version"
		default:
			r.Client = h.SourceAddr.String()
		}
	}
	line, _ := br.ReadString('\n')
	r.Payload = strings.TrimSuffix(line, "\n")
	_ = json.NewEncoder(c).Encode(r)
}

func serveUDP(ap netip.AddrPort, mode string) error {
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return err
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteToUDPAddrPort(answerUDP(buf[:n], from, pc.LocalAddr().String(), mode), from)
		}
	}()
	return nil
}

// answerUDP decodes one datagram and builds the reply.
func answerUDP(p []byte, from netip.AddrPort, local, mode string) []byte {
	r := report{Proto: "udp", Mode: mode, Local: local, Peer: from.String(), Payload: string(p)}
	var prefix []byte
	switch mode {
	case "ppv2":
		h, err := proxyproto.Read(bufio.NewReader(strings.NewReader(string(p))))
		if err != nil {
			r.Error = "proxy header: " + err.Error()
			break
		}
		r.Client = h.SourceAddr.String()
		r.Payload = string(p[headerLen(h):])
	case "spp":
		client, payload, err := decodeSPP(p)
		if err != nil {
			r.Error = err.Error()
			break
		}
		r.Client, r.Payload, prefix = client.String(), string(payload), p[:38]
	}
	b, _ := json.Marshal(r)
	return append(append([]byte(nil), prefix...), append(b, '\n')...)
}

// headerLen is the encoded length of a PROXY v2 header.
func headerLen(h *proxyproto.Header) int {
	b, err := h.Format()
	if err != nil {
		return 0
	}
	return len(b)
}

// decodeSPP reads the 38-byte Simple Proxy Protocol header (EdgeOne /
// Cloudflare Spectrum layout): magic 0x56EC, client and proxy addresses
// (16 bytes each, IPv4-mapped for IPv4), client and proxy ports.
func decodeSPP(p []byte) (netip.AddrPort, []byte, error) {
	if len(p) < 38 || binary.BigEndian.Uint16(p) != 0x56EC {
		return netip.AddrPort{}, nil, errors.New("no SPP header")
	}
	addr := netip.AddrFrom16([16]byte(p[2:18])).Unmap()
	return netip.AddrPortFrom(addr, binary.BigEndian.Uint16(p[34:36])), p[38:], nil
}
