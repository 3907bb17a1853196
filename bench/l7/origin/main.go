// Command origin is the origin server of the layer-7 benchmark
// (bench/l7/run.sh): a minimal HTTP/1.1 server that answers every request
// with the same small fixed response, on -addr (plain) and, with -cert and
// -key, on -tls-addr (for the "direct" HTTPS figures).
//
// It is deliberately not net/http: on a 2-core box the origin shares the
// CPU with the proxy under test and the load generator, so the cheaper it
// is, the more the figures say about the proxy. It speaks enough HTTP/1.1
// for proxies and load generators: keep-alive, pipelining, "Connection:
// close", HTTP/1.0, request bodies with Content-Length or chunked framing.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.94.1:8080", "plain HTTP listen address")
	tlsAddr := flag.String("tls-addr", "127.0.94.1:8443", "HTTPS listen address (with -cert and -key)")
	cert := flag.String("cert", "", "PEM certificate for -tls-addr")
	key := flag.String("key", "", "PEM key for -tls-addr")
	size := flag.Int("size", 64, "response body bytes")
	flag.Parse()

	body := bytes.Repeat([]byte("x"), max(*size-1, 0))
	body = append(body, '\n')
	head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	keep := append([]byte(head+"\r\n"), body...)
	closing := append([]byte(head+"Connection: close\r\n\r\n"), body...)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go serveAll(ln, keep, closing)
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			log.Fatal(err)
		}
		tln, err := tls.Listen("tcp", *tlsAddr, &tls.Config{Certificates: []tls.Certificate{c}, NextProtos: []string{"http/1.1"}})
		if err != nil {
			log.Fatal(err)
		}
		go serveAll(tln, keep, closing)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func serveAll(ln net.Listener, keep, closing []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go serve(c, keep, closing)
	}
}

// serve answers the requests of one connection; responses are flushed
// when no further pipelined request is already buffered.
func serve(c net.Conn, keep, closing []byte) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 8<<10)
	bw := bufio.NewWriterSize(c, 8<<10)
	for {
		req, err := readHead(br)
		if err != nil {
			return
		}
		if err := discardBody(br, req); err != nil {
			return
		}
		if req.close {
			_, _ = bw.Write(closing)
			_ = bw.Flush()
			return
		}
		_, _ = bw.Write(keep)
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// head is what the origin needs from a request header.
type head struct {
	close   bool
	length  int64
	chunked bool
}

func readHead(br *bufio.Reader) (head, error) {
	var h head
	line, err := br.ReadSlice('\n')
	if err != nil {
		return h, err
	}
	h.close = bytes.Contains(line, []byte("HTTP/1.0")) // Keep-alive only on request.
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return h, err
		}
		if len(line) <= 2 {
			return h, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			h.length, _ = strconv.ParseInt(string(value), 10, 64)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			h.close = bytes.EqualFold(value, []byte("close")) || (h.close && !bytes.EqualFold(value, []byte("keep-alive")))
		}
	}
}

func discardBody(br *bufio.Reader, h head) error {
	if !h.chunked {
		_, err := io.CopyN(io.Discard, br, h.length)
		return err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		hex, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(hex), 16, 64)
		if err != nil {
			return err
		}
		if n == 0 { // Trailers until the empty line.
			for {
				if line, err = br.ReadSlice('\n'); err != nil || len(line) <= 2 {
					return err
				}
			}
		}
		if _, err := io.CopyN(io.Discard, br, n+2); err != nil {
			return err
		}
	}
}
