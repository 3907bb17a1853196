// Command edgeproxy runs the opengaap layer-4 data plane (internal/edge)
// standalone for bench/l4/run.sh: it builds a snapshot with one proxy on
// -ip and a TCP and a UDP listener on -port forwarding to -origin, applies
// it with edge.New(...).Apply and serves until SIGTERM/SIGINT. No API, no
// store: exactly the forwarding engine. With -mirror, a traffic mirror of
// the proxy sends VXLAN copies to a collector (loadgen collect).
package main

import (
	"flag"
	"log"
	"net/netip"

	"github.com/opengaap/opengaap/bench/edgerun"
	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/snapshot"
)

func main() {
	ip := flag.String("ip", "127.0.93.2", "access IP of the proxy (127.0.x.y)")
	port := flag.Int("port", 9000, "TCP and UDP listener port")
	origin := flag.String("origin", "127.0.93.1:9000", "origin ip:port (TCP and UDP)")
	mirrorTo := flag.String("mirror", "", "mirror the proxy's traffic (VXLAN, both directions) to this collector ip:port")
	mirrorRate := flag.Int64("mirror-rate", 0, "mirror payload bytes/s cap (0 = default, -1 = none)")
	withTOA := flag.Bool("toa", false, "the TCP listener passes client addresses in TOA options (needs BPF; internal/edge/toa)")
	flag.Parse()

	o, err := netip.ParseAddrPort(*origin)
	if err != nil {
		log.Fatalf("-origin: %v", err)
	}
	if _, err := netip.ParseAddr(*ip); err != nil {
		log.Fatalf("-ip: %v", err)
	}
	origins := []snapshot.Origin{{ID: "o-bench", Host: o.Addr().String(), Port: int(o.Port()), Weight: 10}}
	snap := &snapshot.Snapshot{Version: 1, Proxies: []snapshot.Proxy{{
		ID:       "link-bench",
		AccessIP: *ip,
		Listeners: []snapshot.Listener{
			{ID: "lsr-tcp", Protocol: snapshot.ProtoTCP, Port: *port, Scheduler: snapshot.SchedRR, Origins: origins},
			{ID: "lsr-udp", Protocol: snapshot.ProtoUDP, Port: *port, Scheduler: snapshot.SchedRR, Origins: origins},
		},
	}}}
	if *mirrorTo != "" {
		c, err := netip.ParseAddrPort(*mirrorTo)
		if err != nil {
			log.Fatalf("-mirror: %v", err)
		}
		snap.Mirrors = []snapshot.Mirror{{ID: "imgf-bench", VNI: 1, Direction: snapshot.MirrorAll,
			Sources: []snapshot.MirrorSource{{ProxyID: "link-bench"}},
			Targets: []snapshot.MirrorTarget{{IP: c.Addr().String(), Port: int(c.Port())}}}}
	}

	var w *toa.Writer
	if *withTOA {
		if w, err = toa.New(); err != nil {
			log.Fatalf("-toa: %v", err)
		}
		snap.Proxies[0].Listeners[0].ClientIP = snapshot.ClientIPTOA
	}
	edgerun.Run(snap, func(o *edge.Options) { o.MirrorRate, o.TOA = *mirrorRate, w })
}
