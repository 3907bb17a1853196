// Command origin is the origin server of the L4 benchmark (bench/l4/run.sh):
// a TCP server whose first byte per connection picks the mode, and a UDP
// echo server, both on -addr.
//
// TCP modes (first byte sent by the client):
//
//	'E' echo: everything read is written back (request/response, conns).
//	'S' sink: everything read is discarded (bulk upload).
//	'D' source: writes zeros until the client goes away (bulk download).
//
// UDP: every datagram is echoed to its sender (recvmmsg/sendmmsg batches).
package main

import (
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/net/ipv4"
)

func main() {
	addr := flag.String("addr", "127.0.93.1:9000", "TCP and UDP listen address")
	udpWorkers := flag.Int("udp-workers", 2, "goroutines reading the UDP socket")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(4 << 20)
		_ = uc.SetWriteBuffer(4 << 20)
	}
	go acceptLoop(ln)
	for range *udpWorkers {
		go udpEcho(ipv4.NewPacketConn(pc))
	}
	log.Printf("origin ready on tcp+udp %s", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go serve(c.(*net.TCPConn))
	}
}

func serve(c *net.TCPConn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	switch mode[0] {
	case 'E':
		buf := make([]byte, 16<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case 'S':
		buf := make([]byte, 256<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	case 'D':
		buf := make([]byte, 256<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

func udpEcho(pc *ipv4.PacketConn) {
	const batch = 64
	ms := make([]ipv4.Message, batch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	out := make([]ipv4.Message, 0, batch)
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		out = out[:0]
		for i := range ms[:n] {
			out = append(out, ipv4.Message{Buffers: [][]byte{ms[i].Buffers[0][:ms[i].N]}, Addr: ms[i].Addr})
		}
		for len(out) > 0 {
			k, err := pc.WriteBatch(out, 0)
			if err != nil {
				break
			}
			out = out[k:]
		}
	}
}
