// Command floor is the least a Go HTTP/1.1 keep-alive proxy can do per
// request, written the way opengaap's data plane is (the net package, one
// goroutine per client connection, blocking reads and writes on the
// runtime's poller), with none of its work: no routing, statistics,
// limits, timeouts, header handling beyond appending what nginx's
// benchmark configuration adds (X-Real-IP, X-Forwarded-For,
// X-Forwarded-Proto), and no HTTP beyond the benchmark's: GET-like
// requests without body, answers framed by Content-Length. Each client
// connection gets its own origin connection. bench/l7/run.sh measures it
// (TARGETS="opengaap floor nginx" TESTS=http) to tell the cost of Go's
// runtime from the cost of opengaap's request path; it is not a data
// plane.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"io"
	"log"
	"net"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.94.6:8080", "address to serve on")
	origin := flag.String("origin", "127.0.94.1:8080", "origin ip:port (plain HTTP)")
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
		go serve(c, *origin)
	}
}

var eoh = []byte("\r\n\r\n")

// serve relays the requests of one client connection to its own origin
// connection until either side closes or sends what it does not handle.
func serve(c net.Conn, origin string) {
	defer c.Close()
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	added := []byte("X-Real-IP: " + host + "\r\nX-Forwarded-For: " + host + "\r\nX-Forwarded-Proto: http\r\n\r\n")
	oc, err := net.Dial("tcp", origin)
	if err != nil {
		return
	}
	defer oc.Close()
	cr, or := bufio.NewReaderSize(c, 4<<10), bufio.NewReaderSize(oc, 4<<10)
	var req, resp []byte
	for {
		head, err := readHead(cr)
		if err != nil {
			return
		}
		req = append(append(req[:0], head[:len(head)-2]...), added...)
		_, _ = cr.Discard(len(head))
		if _, err := oc.Write(req); err != nil {
			return
		}
		head, err = readHead(or)
		if err != nil {
			return
		}
		n, ok := bodyLen(head)
		if !ok {
			return
		}
		resp = append(resp[:0], head...)
		_, _ = or.Discard(len(head))
		k := len(resp)
		resp = append(resp, make([]byte, n)...)
		if _, err := io.ReadFull(or, resp[k:]); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// readHead returns the head at the start of br's buffer, through its empty
// line, reading until it is there.
func readHead(br *bufio.Reader) ([]byte, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, eoh); i >= 0 {
			return buf[:i+4], nil
		}
		if len(buf) == br.Size() {
			return nil, bufio.ErrBufferFull
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return nil, err
		}
	}
}

// bodyLen is an answer head's Content-Length; false without one.
func bodyLen(head []byte) (int, bool) {
	for line := range bytes.Lines(head) {
		name, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			return n, err == nil && n >= 0
		}
	}
	return 0, false
}
