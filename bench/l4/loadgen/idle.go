package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// idle measures what an idle connection costs the proxy: the resident
// memory of -pids (VmRSS, all processes summed) before -c connections are
// opened and -duration after the last one is, divided by their number.
// Each connection first carries one exchange, so that the proxy has set
// it up as it would a used one (an origin connection, buffers), then
// stays open and quiet until the end:
//
//	-mode tcp    one 64-byte echo (bench/l4/origin's 'E' mode)
//	-mode http   one GET / over HTTP/1.1 keep-alive
//	-mode https  the same over TLS (certificates not verified)
//
// -mode may list several (http,https); each is then measured in turn with
// the connections of the ones before still open, so that memory they
// would free cannot hide what the next ones take. -target is then a
// comma-separated list of one address per mode. One result line per mode
// (test "idle-MODE", unit "B/conn"). Client connections come from
// 127.0.99.x (x from 10, a new one every 20,000 connections), so that the
// client's own ephemeral ports never run out.
func idle(args []string) {
	var modes, host string
	c := parse("idle", args, 2000, 64, func(fs *flag.FlagSet) {
		fs.StringVar(&modes, "mode", "tcp", "tcp, http or https, or a comma-separated list of them")
		fs.StringVar(&host, "host", "bench.test", "Host (and SNI) of the http and https requests")
	})
	targets := strings.Split(c.target, ",")
	var held []net.Conn
	defer func() {
		for _, nc := range held {
			_ = nc.Close()
		}
	}()
	for i, mode := range strings.Split(modes, ",") {
		exchange, err := exchangeFor(mode, host, c.size)
		if err == nil && i >= len(targets) {
			err = fmt.Errorf("idle: no -target for -mode %s", mode)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		c.res.Test, c.res.Target, c.res.Unit = c.name+"-"+mode, targets[i], "B/conn"
		held = append(held, c.idleConns(targets[i], exchange)...)
		c.emit()
	}
}

// idleConns opens c.conc connections to target, each after its exchange,
// measures what they cost (c.res) and returns them, open.
func (c *common) idleConns(target string, exchange func(net.Conn) (net.Conn, error)) []net.Conn {
	time.Sleep(c.warm)
	before := rssOf(c.pids)
	t0 := time.Now()
	held := make([]net.Conn, 0, c.conc)
	var errs int64
	for i := range c.conc {
		d := net.Dialer{Timeout: 2 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 99, byte(10+i/20000))}}
		nc, err := d.Dial("tcp", target)
		if err == nil {
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			nc, err = exchange(nc)
		}
		if err != nil {
			if errs++; errs == 1 {
				fmt.Fprintf(os.Stderr, "idle: %s: %v (first failure)\n", target, err)
			}
			if nc != nil {
				_ = nc.Close()
			}
			continue
		}
		held = append(held, nc)
	}
	time.Sleep(c.dur) // Let the proxy settle (its GC, lazily freed buffers).
	after := rssOf(c.pids)
	r := &c.res
	r.Duration = time.Since(t0).Seconds()
	r.Ops, r.Errors, r.Value = int64(len(held)), errs, 0
	if len(held) > 0 {
		r.Value = float64(after-before) / float64(len(held))
	}
	return held
}

// exchangeFor returns what idle does on each new connection before
// leaving it idle; it returns the connection to hold (TLS-wrapped for
// https).
func exchangeFor(mode, host string, size int) (func(net.Conn) (net.Conn, error), error) {
	switch mode {
	case "tcp":
		req, resp := make([]byte, 1+size), make([]byte, size)
		req[0] = 'E'
		return func(nc net.Conn) (net.Conn, error) {
			if _, err := nc.Write(req); err != nil {
				return nc, err
			}
			_, err := io.ReadFull(nc, resp)
			return nc, err
		}, nil
	case "http":
		return func(nc net.Conn) (net.Conn, error) { return nc, get(nc, host) }, nil
	case "https":
		cfg := &tls.Config{ServerName: host, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
		return func(nc net.Conn) (net.Conn, error) {
			tc := tls.Client(nc, cfg)
			return tc, get(tc, host)
		}, nil
	}
	return nil, fmt.Errorf("idle: unknown -mode %q (tcp, http or https)", mode)
}

// get sends one keep-alive GET / on nc and reads the whole answer.
func get(nc net.Conn, host string) error {
	if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != http.StatusOK || resp.Close) {
		err = fmt.Errorf("answer %s (close %v): the connection would not stay idle", resp.Status, resp.Close)
	}
	return err
}

// rssOf returns the resident memory of the processes in bytes.
func rssOf(pids []int) int64 {
	return sumProc(pids, "status", func(s string) int64 {
		for line := range strings.Lines(s) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return kb << 10
			}
		}
		return 0
	})
}
