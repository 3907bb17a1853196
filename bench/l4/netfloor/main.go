// Command netfloor is the least a Go TCP forwarder built on the net
// package does per connection: accept, dial the origin, one goroutine per
// direction copying with io.Copy (splice where the kernel allows), a
// half-close passed on, both closed at the end; none of opengaap's work
// (no ACL, limits, health, statistics or PROXY header). bench/l4/floor.sh
// measures it next to opengaap and bench/l4/epollfloor to tell what the
// net package and the scheduler cost a connection from what opengaap's
// own path adds; it is not a data plane.
package main

import (
	"flag"
	"io"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "127.0.95.5:9000", "address to accept on")
	origin := flag.String("origin", "127.0.95.1:9000", "origin ip:port")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go forward(c.(*net.TCPConn), *origin)
	}
}

func forward(c *net.TCPConn, origin string) {
	defer c.Close()
	oc, err := net.Dial("tcp", origin)
	if err != nil {
		return
	}
	o := oc.(*net.TCPConn)
	defer o.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(o, c)
		_ = o.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, o)
	_ = c.CloseWrite()
	<-done
}
