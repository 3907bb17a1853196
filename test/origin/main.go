// Command origin is a test origin server for end-to-end traffic tests
// (test/node/traffic.test.mjs). It listens on the TCP and UDP addresses it
// is given and, per TCP connection or UDP datagram, decodes the client
// address header the proxy was told to send (PROXY v1/v2 or SPP) and
// answers one JSON line describing what it saw:
//
//	{"proto":"tcp","mode":"ppv2","local":"127.0.0.1:9081","client":"127.0.0.9:5000","payload":"hello"}
//
// "client" is the address from the header (empty in mode off) and
// "payload" the bytes after it (TCP: up to the first newline). UDP replies
// in mode spp carry the header back in front of the JSON, as SPP origins
// must. Usage:
//
//	origin -listen tcp/ppv1/127.0.0.1:9081-9085 -listen udp/spp/127.0.0.1:9091
//
// When every socket is bound it prints "ready" on stdout.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// report is the JSON answer.
type report struct {
	Proto   string `json:"proto"`
	Mode    string `json:"mode"`
	Local   string `json:"local"`
	Peer    string `json:"peer"`            // The proxy's address as seen by the socket.
	Client  string `json:"client"`          // From the header.
	Payload string `json:"payload"`         // After the header.
	Error   string `json:"error,omitempty"` // Decoding failure.
}

type listens []string

func (l *listens) String() string     { return strings.Join(*l, ",") }
func (l *listens) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var ls listens
	flag.Var(&ls, "listen", "proto/mode/host:port[-portEnd] (proto tcp|udp, mode off|ppv1|ppv2|spp); repeatable")
	flag.Parse()
	if len(ls) == 0 {
		log.Fatal("origin: no -listen given")
	}
	for _, spec := range ls {
		if err := start(spec); err != nil {
			log.Fatalf("origin: %s: %v", spec, err)
		}
	}
	fmt.Println("ready")
	select {} // Until killed.
}

// start binds every port of one -listen spec.
func start(spec string) error {
	parts := strings.SplitN(spec, "/", 3)
	if len(parts) != 3 {
		return fmt.Errorf("want proto/mode/host:port[-end]")
	}
	proto, mode, addr := parts[0], parts[1], parts[2]
	switch mode {
	case "off", "ppv1", "ppv2", "spp":
	default:
		return fmt.Errorf("mode %q", mode)
	}
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return fmt.Errorf("address %q has no port", addr)
	}
	host, ports := strings.Trim(addr[:i], "[]"), addr[i+1:]
	lo, hi, isRange := strings.Cut(ports, "-")
	first, err := strconv.Atoi(lo)
	last := first
	if err == nil && isRange {
		last, err = strconv.Atoi(hi)
	}
	if err != nil {
		return fmt.Errorf("ports %q", ports)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	for p := first; p <= last; p++ {
		ap := netip.AddrPortFrom(ip, uint16(p))
		switch proto {
		case "tcp":
			err = serveTCP(ap, mode)
		case "udp":
			err = serveUDP(ap, mode)
		default:
			err = fmt.Errorf("proto %q", proto)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func init() { log.SetFlags(0); log.SetOutput(os.Stderr) }
