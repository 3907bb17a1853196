// Command opengaap runs the opengaap node: `opengaap serve` starts the
// Tencent Cloud API endpoint, the controller and the data plane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/opengaap/opengaap/internal/edge/l7"
	"github.com/opengaap/opengaap/internal/edge/mirror"
	"github.com/opengaap/opengaap/internal/server"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: opengaap serve [flags]\n\nRun 'opengaap serve -h' for the flags.")
		// Help asked for is not a usage error: status 0, as serve -h.
		if len(os.Args) == 2 && slices.Contains([]string{"-h", "-help", "--help", "help"}, os.Args[1]) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if err := serve(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "opengaap:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	var o server.Options
	fs.StringVar(&o.APIListen, "api-listen", "127.0.0.1:8800", "address of the Tencent Cloud API endpoint")
	fs.StringVar(&o.APICertFile, "api-cert", "", "PEM certificate (chain) file: the API serves HTTPS (with --api-key)")
	fs.StringVar(&o.APIKeyFile, "api-key", "", "PEM private key file of --api-cert")
	fs.StringVar(&o.MetricsListen, "metrics-listen", "", "address of the Prometheus scrape (GET /metrics, unauthenticated, every account's resource IDs): empty for the API listener, \"off\" for none")
	fs.StringVar(&o.DataDir, "data-dir", "./opengaap-data", "directory for the SQLite store, keys and credentials")
	fs.StringVar(&o.StoreDSN, "store", "", "store: empty for SQLite in the data dir, or a postgres:// (postgresql://) URL; anything else is refused")
	fs.StringVar(&o.VIPPool, "vip-pool", "127.10.0.0/16", "IPv4 CIDR the proxies' access IPs come from")
	fs.StringVar(&o.VIPPoolIPv6, "vip-pool-ipv6", "", "IPv6 CIDR the access IPs of IPAddressVersion IPv6 proxies come from (empty: IPv6 proxies are refused)")
	fs.StringVar(&o.GAAPConfig, "gaap-config", "", "JSON file with GAAP regions, countries and prices (built-in defaults otherwise)")
	fs.StringVar(&o.AccountsFile, "accounts", "", "JSON file of extra accounts [{\"SecretId\": string, \"SecretKey\": string, \"AppId\": number, \"Uin\": string, \"AccessIPQuota\": number (optional)}]")
	fs.BoolVar(&o.DenyPrivateOrigins, "deny-private-origins", false, "refuse loopback, private and other non-public origin and mirror collector addresses, and drop those domain origins resolve to")
	fs.BoolVar(&o.NoRateLimits, "no-rate-limits", false, "disable the documented per-action rate limits")
	fs.BoolVar(&o.NoTOA, "no-toa", false, "do not load the eBPF program that writes TOA options (ClientIPMethod 0 is then refused)")
	fs.DurationVar(&o.DrainGrace, "drain-grace", 30*time.Second, "how long connections of removed listeners and closed proxies, and all of them on shutdown, may finish (0: cut at once)")
	fs.DurationVar(&o.BodyIdleTimeout, "body-idle-timeout", l7.BodyIdleTimeout, "end an HTTP request whose client sends none of its body for this long (HTTP/2 and HTTP/3: the stream)")
	fs.DurationVar(&o.SendTimeout, "send-timeout", l7.SendTimeout, "give up an answer whose HTTP client takes none of it for this long (HTTP/1.1: the connection is closed; HTTP/2, HTTP/3: the stream is reset)")
	fs.DurationVar(&o.OriginReadTimeout, "origin-read-timeout", l7.OriginReadTimeout, "give up an origin that sends nothing more of an answer's body for this long (WebSockets exempt; raise it for event streams quiet for longer)")
	fs.Int64Var(&o.MirrorRateMbps, "mirror-rate-mbps", mirror.DefaultRate*8/1_000_000, "most traffic mirroring copies, in Mbit/s: a positive number, or -1 for no cap; copies beyond it are dropped and counted")
	fs.Parse(args)
	set, err := check(fs, o)
	if err != nil {
		return err
	}
	if o.DrainGrace == 0 {
		o.DrainGrace = -1 // The data plane's "no drain" (its 0 is the default).
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o.Log = log

	root, save, err := rootCredentials(o.DataDir, log)
	if err != nil {
		return err
	}
	// Against the accounts file before the credentials are written.
	if err := server.CheckAccounts(root, set); err != nil {
		return err
	}
	if err := save(); err != nil {
		return err
	}
	o.Root = root
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	s, err := server.StartChecked(ctx, o, set)
	if err != nil {
		return err
	}
	scheme := "http"
	if o.APICertFile != "" {
		scheme = "https"
	}
	log.Info("serving", "api", scheme+"://"+s.Addr, "metrics", s.MetricsURL, "data-dir", o.DataDir)
	select {
	case <-ctx.Done():
	case err := <-s.Fatal():
		// The store may be another serve's now: stop at once, without
		// draining or recording the last statistics into it. A
		// supervisor's restart takes the lock again or is refused naming
		// its holder.
		log.Error("stopping: this serve no longer holds the store's instance lock", "err", err)
		return fmt.Errorf("stopped: %w", err)
	}
	// A second signal stops at once: open connections are cut and the last
	// minute's statistics are not recorded (the store is crash-safe).
	again := make(chan os.Signal, 1)
	signal.Notify(again, stopSignals...)
	// Which signal: a SIGHUP may come from a closed terminal, not the
	// operator.
	cause := context.Cause(ctx)
	stop()
	first := time.Now()
	go func() {
		for range again {
			// One stop sent as two is not a second: GNU timeout, say,
			// signals the child and then its own process group.
			if time.Since(first) >= signalHoldOff {
				break
			}
		}
		log.Warn("second signal: stopping at once, open connections are cut")
		os.Exit(1)
	}()
	if o.DrainGrace > 0 {
		// What the drain waits for: a UDP session lasts until it is idle
		// for its timeout, so serve may wait with no TCP connection open.
		conns, sessions := s.Edge.Open()
		log.Info(fmt.Sprintf("shutting down: draining %d connections and %d UDP sessions for up to %v (a UDP session ends once idle for its timeout, 60 s by default); a second SIGINT, SIGTERM or SIGHUP stops at once", conns, sessions, o.DrainGrace),
			"signal", cause, "connections", conns, "udp-sessions", sessions, "drain-grace", o.DrainGrace)
	} else {
		log.Info("shutting down", "signal", cause)
	}
	// Connections drain for the grace, then are cut; the rest is quick.
	sctx, cancel := context.WithTimeout(context.Background(), max(o.DrainGrace, 0)+10*time.Second)
	defer cancel()
	return s.Close(sctx)
}

// signalHoldOff is how long after the first stop signal another one is
// taken for the same stop, not the second that stops at once.
const signalHoldOff = 250 * time.Millisecond

// stopSignals stop serve gracefully: the data plane drains, the last
// statistics are recorded. SIGHUP too: serve has nothing to reload (flags
// and files are read at start), and Go's default would kill it on the spot
// when the terminal or SSH session that started it closes, or when an
// operator sends it for a reload.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// maxMirrorRateMbps is the largest --mirror-rate-mbps whose bytes/s
// (Mbit/s × 1,000,000 / 8, server.Options.MirrorRateMbps) fit an int64.
const maxMirrorRateMbps int64 = math.MaxInt64 / 1_000_000

// check refuses a mistyped start before anything is written: no data dir,
// root credentials or store is created for flags serve would refuse (a
// user who meant another --data-dir would otherwise be left with a stray
// directory holding a fresh secret). It returns the settings the flags
// name, read once, for server.StartChecked.
func check(fs *flag.FlagSet, o server.Options) (*server.Settings, error) {
	switch {
	case fs.NArg() > 0: // "--vip-pool 127.77.0.0 /24" would otherwise be half-ignored.
		return nil, fmt.Errorf("unexpected argument %q: serve takes only flags (opengaap serve -h)", fs.Arg(0))
	case o.DrainGrace < 0 || o.BodyIdleTimeout <= 0 || o.SendTimeout <= 0 || o.OriginReadTimeout <= 0:
		return nil, errors.New("--drain-grace must not be negative; --body-idle-timeout, --send-timeout and --origin-read-timeout must be positive")
	case o.MirrorRateMbps == 0 || o.MirrorRateMbps < -1 || o.MirrorRateMbps > maxMirrorRateMbps:
		// 0 could mean "no cap" or "copy nothing"; neither is what the
		// data plane's 0 (its default) would do. Above the bound, the
		// rate in bytes/s would wrap to negative: no cap.
		return nil, fmt.Errorf("--mirror-rate-mbps %d: give a positive number of Mbit/s, at most %d, or -1 for no cap",
			o.MirrorRateMbps, maxMirrorRateMbps)
	}
	// The pool, the store URL, the listen addresses and the files the
	// flags name.
	return server.Check(o)
}
