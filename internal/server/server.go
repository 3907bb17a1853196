// Package server wires one opengaap node: store, API endpoint, services,
// controller and data plane. cmd/opengaap and the tests both start the
// product through it, so tests exercise exactly what users run.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/controller"
	"github.com/opengaap/opengaap/internal/edge"
	"github.com/opengaap/opengaap/internal/edge/health"
	"github.com/opengaap/opengaap/internal/edge/limit"
	"github.com/opengaap/opengaap/internal/edge/toa"
	"github.com/opengaap/opengaap/internal/gaap"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/seal"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
	"github.com/opengaap/opengaap/internal/tag"
	"github.com/opengaap/opengaap/internal/telemetry"
	"github.com/opengaap/opengaap/internal/teo"
	"github.com/opengaap/opengaap/internal/vip"
	"github.com/opengaap/opengaap/internal/vpc"
)

// Options configure a node.
type Options struct {
	APIListen string // e.g. 127.0.0.1:8800
	// APICertFile and APIKeyFile (PEM), both or neither, make the API
	// serve HTTPS instead of HTTP.
	APICertFile, APIKeyFile string
	// MetricsListen is where the Prometheus scrape (GET /metrics) is
	// served: "" on the API listener, "off" nowhere, else its own address.
	MetricsListen string
	DataDir       string
	StoreDSN      string // "" = SQLite in DataDir; postgres:// or postgresql:// = PostgreSQL; else refused
	VIPPool       string // CIDR of access IPs
	// VIPPoolIPv6 optionally names the IPv6 CIDR of the access IPs of
	// proxies whose IPAddressVersion is IPv6; "" offers no IPv6 proxies.
	VIPPoolIPv6 string
	// GAAPConfig optionally names the GAAP configuration file (regions,
	// countries, prices); built-in defaults otherwise.
	GAAPConfig string
	// AccountsFile optionally names a JSON file of extra accounts.
	AccountsFile string
	// Root is the root account; Uin and AppID get defaults when empty.
	Root cloudapi.Account
	// DenyPrivateOrigins refuses loopback and private origin addresses.
	DenyPrivateOrigins bool
	// NoRateLimits disables the per-action rate limits.
	NoRateLimits bool
	// APIBodyIdleTimeout, APIBodyTimeout and APIBodyBudget bound the
	// reading of API request bodies (cloudapi.Endpoint's BodyIdleTimeout,
	// BodyTimeout, BodyBudget); 0 means cloudapi's defaults. Tests lower
	// them.
	APIBodyIdleTimeout, APIBodyTimeout time.Duration
	APIBodyBudget                      int64
	// NoTOA leaves TOA (ClientIPMethod 0, teo's TOA) off even where the
	// machine could write it: no BPF program is loaded.
	NoTOA bool
	// DrainGrace bounds how long connections of removed listeners and
	// closed proxies, and all of them on Close, may finish; 0 means 30 s,
	// negative means no drain.
	DrainGrace time.Duration
	// MirrorRateMbps caps the payload traffic mirroring copies on this
	// node, in Mbit/s (0 = the data plane's default, negative = no cap).
	MirrorRateMbps int64
	// BodyIdleTimeout ends an HTTP request whose client sends none of its
	// body for this long; 0 means l7.BodyIdleTimeout.
	BodyIdleTimeout time.Duration
	// SendTimeout and OriginReadTimeout bound each write to an HTTP client
	// and each read of an origin's answer body; 0 means l7's defaults.
	SendTimeout, OriginReadTimeout time.Duration
	// StatsInterval is how often statistics are recorded; 0 means a minute.
	StatsInterval time.Duration
	// ConcurrentUnit is how many connections one unit of a proxy's
	// Concurrent allows; 0 means the API's 10,000. Tests lower it.
	ConcurrentUnit int
	// LockCheck is how often a PostgreSQL store's instance lock is
	// checked; 0 means sqlstore.DefaultLockCheck. Tests lower it.
	LockCheck time.Duration
	Log       *slog.Logger
}

// Server is a running node.
type Server struct {
	Store      store.Store
	GAAP       *gaap.Service
	Edge       *edge.Runtime
	Telemetry  *telemetry.Recorder
	TEO        *teo.Service
	VPC        *vpc.Service
	Tag        *tag.Service
	Controller *controller.Controller
	Endpoint   *cloudapi.Endpoint
	Addr       string // the API's bound address
	// MetricsAddr is the bound address of a separate metrics listener
	// (Options.MetricsListen), "" without one.
	MetricsAddr string
	// MetricsURL is where the Prometheus scrape is served, on the API's
	// listener or its own ("http://127.0.0.1:8800/metrics"), or "off".
	MetricsURL string
	// Caps are what the operator allows and the node can do, as every
	// service was given them (Caps.TOA: the eBPF program loaded, so
	// ClientIPMethod 0 and teo's TOA mode are served, not refused).
	Caps      model.Capabilities
	http      *http.Server
	metrics   *http.Server // nil unless on its own listener
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	log       *slog.Logger
	fatal     <-chan error
}

// Fatal receives an error when the node can no longer run safely: its
// PostgreSQL store's instance lock was lost with its connection and
// another serve holds it now (while the database cannot be reached, the
// lock is tried again and the data plane serves on). The holder should
// then stop at once, without recording
// more into a store that may now be another serve's; a supervisor's
// restart either takes the lock again or is refused naming the holder.
// The channel never receives on SQLite.
func (s *Server) Fatal() <-chan error { return s.fatal }

// Settings are what Options name, read and checked by Check. Start reads
// them itself; StartChecked takes Check's, so that serve reads each file
// once: a pipe (/dev/stdin, bash's <(...), a FIFO) can be read only once.
type Settings struct {
	pool               *vip.Pool
	pool6              *vip.Pool // nil: no IPv6 proxies
	dsn, engine, where string    // storeDSN's
	cfg                gaap.Config
	accounts           []cloudapi.Account // the accounts file's, root aside
	tls                *tls.Config        // the API's; nil: HTTP
	listens            []listenAddr       // the node's own, which the pools never hand out
}

// listenAddr is an address the node's own sockets listen on, with the flag
// that names it.
type listenAddr struct {
	flag string
	ip   netip.Addr
}

// Check reads and checks what o names (the vip pool, the store URL, the
// GAAP configuration, the accounts file, the listen addresses, the API's
// certificate and key) without writing anything: serve checks them before
// it creates the data dir and the root credentials, so a mistyped start
// leaves nothing behind, and then starts on them (StartChecked).
func Check(o Options) (*Settings, error) {
	set := &Settings{}
	var err error
	// As net.Listen will read them (host resolved, port a number in range
	// or a service name), without binding: in use is only known then.
	api, err := net.ResolveTCPAddr("tcp", o.APIListen)
	if err != nil {
		return nil, fmt.Errorf("--api-listen %s: %w", o.APIListen, err)
	}
	set.listens = []listenAddr{{"--api-listen", api.AddrPort().Addr().Unmap()}}
	if o.MetricsListen != "" && o.MetricsListen != "off" {
		m, err := net.ResolveTCPAddr("tcp", o.MetricsListen)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen %s: %w", o.MetricsListen, err)
		}
		set.listens = append(set.listens, listenAddr{"--metrics-listen", m.AddrPort().Addr().Unmap()})
		if sameListener(api, m) {
			// Found here, not as "address already in use" from a bind
			// after the data dir is written, naming neither flag.
			return nil, fmt.Errorf("--metrics-listen %s and --api-listen %s would both listen on port %d: "+
				"leave --metrics-listen empty to serve /metrics on the API listener, or give it another port",
				o.MetricsListen, o.APIListen, m.Port)
		}
	}
	var own []netip.Addr
	for _, l := range set.listens {
		own = append(own, l.ip)
	}
	if set.pool, err = vip.New(o.VIPPool, own...); err != nil {
		return nil, err
	}
	if o.VIPPoolIPv6 != "" {
		if set.pool6, err = vip.New6(o.VIPPoolIPv6, own...); err != nil {
			return nil, fmt.Errorf("--vip-pool-ipv6: %w", err)
		}
	}
	if set.dsn, set.engine, set.where, err = storeDSN(o); err != nil {
		return nil, err
	}
	if o.GAAPConfig != "" {
		if set.cfg, err = gaap.LoadConfig(o.GAAPConfig); err != nil {
			return nil, fmt.Errorf("--gaap-config: %w", err)
		}
	}
	if o.AccountsFile != "" {
		if set.accounts, err = cloudapi.LoadAccountsFile(o.AccountsFile); err != nil {
			return nil, fmt.Errorf("--accounts: %w", err)
		}
	}
	if (o.APICertFile == "") != (o.APIKeyFile == "") {
		return nil, errors.New("--api-cert and --api-key go together: give both or neither")
	}
	if o.APICertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.APICertFile, o.APIKeyFile)
		if err != nil {
			return nil, fmt.Errorf("API certificate: %w", err)
		}
		set.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return set, nil
}

// Start checks o (Check) and starts on it (StartChecked). serve calls the
// two apart (it checks before it writes the data dir); Start is for tests
// and other callers that have nothing to do in between.
func Start(ctx context.Context, o Options) (*Server, error) {
	set, err := Check(o)
	if err != nil {
		return nil, err
	}
	return StartChecked(ctx, o, set)
}

// sameListener reports whether binding a and b would collide: the same
// port (not 0, which picks a free one) on the same address, or on any
// address when either is unspecified (":8800", "0.0.0.0:8800").
func sameListener(a, b *net.TCPAddr) bool {
	wild := func(ip net.IP) bool { return ip == nil || ip.IsUnspecified() }
	return a.Port != 0 && a.Port == b.Port && (a.IP.Equal(b.IP) || wild(a.IP) || wild(b.IP))
}

// StartChecked opens the store, reconciles once (so every configured
// listener is back before the first API call) and starts serving the API,
// with set, what Check(o) returned: the files o names are not read again.
func StartChecked(ctx context.Context, o Options, set *Settings) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// Before the store: an incomplete root account, or one the accounts
	// file defines too, is refused with nothing created.
	accounts, err := loadAccounts(o.Root, set.accounts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	// One serve per store: a second one would settle statuses from its own
	// data plane, write the same statistics series and seal certificate
	// keys with a key file of its own (README, docs/controller.md). Open
	// locks before it migrates, so a refused serve leaves the store as is.
	// On PostgreSQL the lock is watched: lost with its connection, it is
	// taken again or reported on Fatal.
	st, err := sqlstore.Open(ctx, set.dsn, sqlstore.WithInstanceLock(instanceHolder(o.DataDir)),
		sqlstore.WithLockWatch(o.LockCheck, o.Log))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	o.Log.Info("store", "engine", set.engine, "at", set.where)
	for _, w := range set.cfg.Warnings {
		o.Log.Warn("--gaap-config: " + w)
	}
	s, err := build(ctx, st, o, set, accounts)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.fatal = st.LockLost()
	return s, nil
}

// instanceHolder describes this process for the store's instance lock: a
// second serve refused by the lock names it.
func instanceHolder(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return fmt.Sprintf("opengaap serve pid %d on %s, data dir %s", os.Getpid(), host, dataDir)
}

// storeDSN checks o.StoreDSN and returns what sqlstore.Open takes, with
// the engine and where it is for the log (no password). Only "" (SQLite in
// the data dir) and a postgres:// or postgresql:// URL are accepted: any
// other value would open a SQLite file of that name, so a typo or another
// database's URL would start the node on a fresh, empty store.
func storeDSN(o Options) (dsn, engine, where string, err error) {
	if o.StoreDSN == "" {
		dsn = filepath.Join(o.DataDir, "opengaap.db")
		return dsn, "sqlite", dsn, nil
	}
	if !strings.HasPrefix(o.StoreDSN, "postgres://") && !strings.HasPrefix(o.StoreDSN, "postgresql://") {
		what := "a file path"
		if scheme, _, ok := strings.Cut(o.StoreDSN, "://"); ok {
			what = fmt.Sprintf("the URL scheme %q", scheme+"://")
		}
		return "", "", "", fmt.Errorf("--store: %s is not supported; leave it empty for SQLite in the data dir or give a postgres:// (or postgresql://) URL", what)
	}
	u, err := url.Parse(o.StoreDSN)
	if err != nil {
		// Not url.Parse's message: it repeats the URL, password included.
		return "", "", "", errors.New("--store: not a valid postgres:// URL (postgres://USER:PASSWORD@HOST[:PORT]/DATABASE)")
	}
	if err := sqlstore.CheckPostgresURL(o.StoreDSN); err != nil {
		return "", "", "", fmt.Errorf("--store: %w", err)
	}
	// No host is PostgreSQL's default: a local socket (or PGHOST, or a
	// host= parameter).
	where = cmp.Or(u.Host, "local socket") + u.Path
	if name := u.User.Username(); name != "" {
		where = name + "@" + where
	}
	return o.StoreDSN, "postgres", where, nil
}

// openTOA loads the TOA writer unless the operator turned it off; a
// machine that cannot run it serves without TOA, which the API then
// refuses with a clear message. Without a writer, why is the reason, which
// the listeners stored with TOA report.
func openTOA(o Options) (w *toa.Writer, why error) {
	if o.NoTOA {
		why = errors.New("TOA is off on this node (--no-toa)")
	} else {
		w, why = toa.New()
	}
	if why != nil {
		o.Log.Info("TOA (ClientIPMethod 0) is not available; listeners asking for it are refused", "err", why)
	}
	return w, why
}

func build(ctx context.Context, st store.Store, o Options, set *Settings, accounts *cloudapi.Accounts) (*Server, error) {
	pool, cfg := set.pool, set.cfg
	sealer, err := seal.Load(ctx, st, filepath.Join(o.DataDir, "certificate-keys.key"), o.Log)
	if err != nil {
		return nil, err
	}
	tw, noTOA := openTOA(o)
	cfg.Caps = model.Capabilities{PrivateOrigins: !o.DenyPrivateOrigins, TOA: tw != nil, Ping: health.CanPing()}
	s := &Server{Store: st, done: make(chan struct{}), log: o.Log, Caps: cfg.Caps}
	s.GAAP = gaap.New(st, pool, set.pool6, cfg, sealer, o.Log)
	err = s.GAAP.WarnIPv4AddressedIPv6(ctx)
	if err == nil {
		err = warnListenAddrHeld(ctx, st, set.listens, o.Log)
	}
	if err != nil {
		// The Edge does not own the writer yet. Left to a GC finalizer,
		// its program would run meanwhile for every socket of the cgroup.
		if tw != nil {
			_ = tw.Close()
		}
		return nil, err
	}
	s.Edge = edge.New(edge.Options{DrainGrace: o.DrainGrace, BodyIdleTimeout: o.BodyIdleTimeout,
		SendTimeout: o.SendTimeout, OriginReadTimeout: o.OriginReadTimeout,
		MirrorRate: o.MirrorRateMbps * 1_000_000 / 8, // Negative stays negative: no cap.
		TOA:        tw, NoTOA: noTOA, DenyPrivateOrigins: o.DenyPrivateOrigins})
	s.Telemetry = telemetry.New(s.Edge, st.Stats(), o.Log)
	s.GAAP.Health = s.Telemetry.Health
	plane := &dataPlane{node: s.Edge, observe: s.Telemetry.Observe,
		compile: controller.Settings{OpenKey: sealer.Open, ConcurrentUnit: o.ConcurrentUnit}}
	s.Controller = controller.New(st, plane, o.Log)
	s.GAAP.Down = s.Controller.Failing
	s.GAAP.Notify = s.Controller.Notify
	s.TEO = teo.New(st, pool, cfg.Caps, sealer, o.Log)
	s.TEO.Notify = s.Controller.Notify
	s.TEO.Down = s.Controller.Failing
	s.VPC = vpc.New(st, pool, cfg.Caps, o.Log)
	s.VPC.Notify = s.Controller.Notify
	s.Tag = tag.New(st, o.Log)
	s.Tag.Notify = s.Controller.Notify
	// The node's own sockets are bound before the data plane's: a
	// listener a tenant configured on the API's or the metrics' port
	// then fails to bind, as it does while the node runs, instead of
	// taking the port at a restart and keeping the node from starting
	// (the API, which alone could remove it, down). Calls wait in the
	// backlog until serve, after the initial reconcile: every listener is
	// back before the first is answered.
	serve, unlisten, err := s.listen(o, set.tls)
	if err != nil {
		s.Edge.Close(ctx) // It owns the TOA writer.
		return nil, err
	}
	if err := s.Controller.Reconcile(ctx); err != nil {
		unlisten()
		s.Edge.Close(ctx)
		return nil, fmt.Errorf("initial reconcile: %w", err)
	}
	s.Endpoint = cloudapi.NewEndpoint(accounts, o.Log, s.GAAP.Register(), s.TEO.Register(), s.VPC.Register(), s.Tag.Register())
	s.Endpoint.Unlimited = o.NoRateLimits
	s.Endpoint.BodyIdleTimeout, s.Endpoint.BodyTimeout = o.APIBodyIdleTimeout, o.APIBodyTimeout
	s.Endpoint.BodyBudget = o.APIBodyBudget
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	interval := o.StatsInterval
	if interval <= 0 {
		interval = time.Minute
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.Controller.Run(runCtx) })
	wg.Go(func() { s.Telemetry.Run(runCtx, interval) })
	go func() {
		wg.Wait()
		close(s.done)
	}()
	serve()
	return s, nil
}

// warnListenAddrHeld logs the proxies whose access IP is one of the node's
// own listen addresses, stored by an earlier run (a release whose pool did
// not leave them out, or the flag since moved there): the proxy's clients
// reach the API (and metrics) there, and its listeners on those ports
// cannot bind. It keeps the address, as serve starts (taking it away would
// cut off its clients): the operator moves the flag or recreates the proxy.
func warnListenAddrHeld(ctx context.Context, st store.Store, listens []listenAddr, log *slog.Logger) error {
	return st.View(ctx, func(tx store.Tx) error {
		for _, l := range listens {
			if !l.ip.IsValid() || l.ip.IsUnspecified() {
				continue // A wildcard, never a proxy's access IP.
			}
			proxy, err := vip.Holder(tx, l.ip)
			if err != nil {
				return err
			}
			if proxy != "" {
				log.Warn("a proxy's access IP is the node's own listen address: its clients reach the node's socket there and its listeners on that port cannot bind; give the flag another address or recreate the proxy",
					"proxy", proxy, "flag", l.flag, "address", l.ip)
			}
		}
		return nil
	})
}

// metricsMaxConns caps the connections of the metrics' own listener: a
// scrape needs one, and the listener must not take the data plane's
// descriptors either.
const metricsMaxConns = 64

// maxScrapes bounds the /metrics scrapes served at once (a Prometheus
// server or two scrape a node; HA pairs, a curl by hand).
const maxScrapes = 4

// listen opens the API's listener (HTTPS with tlsCfg, else HTTP) and the
// metrics' own, if any; serve starts serving them, unlisten closes them
// unserved.
func (s *Server) listen(o Options, tlsCfg *tls.Config) (serve, unlisten func(), err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Telemetry.Collector())
	// Scrapes at once: each holds its whole answer (megabytes for
	// thousands of objects) until its client has read it; more get 503.
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: maxScrapes})
	// A scrape has no body to read.
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			cloudapi.DropBody(w, r)
		}
		prom.ServeHTTP(w, r)
	})
	var mln net.Listener
	if o.MetricsListen != "" && o.MetricsListen != "off" {
		if mln, err = net.Listen("tcp", o.MetricsListen); err != nil {
			return nil, nil, fmt.Errorf("--metrics-listen: %w", err)
		}
		s.MetricsAddr = mln.Addr().String()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics)
		s.metrics = &http.Server{Handler: mux, MaxHeaderBytes: cloudapi.MaxHeaderBytes,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, WriteTimeout: time.Minute}
	}
	ln, err := net.Listen("tcp", o.APIListen)
	if err != nil {
		if mln != nil {
			mln.Close()
		}
		return nil, nil, fmt.Errorf("--api-listen: %w", err)
	}
	s.Addr = ln.Addr().String()
	// Origins may not reach the API or the metrics, as they may not
	// reach the node's listeners.
	s.Edge.Reserve(ln.Addr().(*net.TCPAddr).AddrPort())
	if mln != nil {
		s.Edge.Reserve(mln.Addr().(*net.TCPAddr).AddrPort())
	}
	// The API shares the process's descriptors with the data plane: past
	// the cap, a connection closes an idle one or waits in the kernel's
	// backlog until one closes.
	var apiCap, metricsCap *capListener
	if n := limit.APIConns(); n > 0 {
		apiCap = newCapListener(ln, n)
		ln = apiCap
	}
	if mln != nil {
		metricsCap = newCapListener(mln, metricsMaxConns)
		mln = metricsCap
		s.metrics.ConnState = metricsCap.Track
	}
	switch {
	case o.MetricsListen == "off":
		s.MetricsURL = "off"
	case mln != nil:
		s.MetricsURL = "http://" + s.MetricsAddr + "/metrics"
	case tlsCfg != nil:
		s.MetricsURL = "https://" + s.Addr + "/metrics"
	default:
		s.MetricsURL = "http://" + s.Addr + "/metrics"
	}
	// Not a ServeMux: its path cleaning answers "//" or "/./" with a bare
	// 307, and every API answer must be the HTTP 200 envelope. The API is
	// served at any path; only a scrape (GET or HEAD) of /metrics, when
	// the metrics are on this listener, is not an API call.
	scrapeHere := o.MetricsListen == ""
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scrapeHere && r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			metrics.ServeHTTP(w, r)
			return
		}
		s.Endpoint.ServeHTTP(w, r)
	})
	// The endpoint bounds the body's reading itself (a deadline renewed
	// as it arrives) and cuts a body it does not read (DropBody);
	// ReadTimeout is only the backstop of any read left unbounded, long
	// enough never to expire under a call in time (past it, net/http's
	// background read would cancel the call's context). WriteTimeout,
	// counted from the end of the head, leaves room for the longest body
	// and handler and then cuts a client that does not take its answer.
	// DisableGeneralOptionsHandler:
	// "OPTIONS *" reaches the endpoint (an UnsupportedProtocol envelope)
	// instead of net/http's empty 200.
	bodyTimeout := o.APIBodyTimeout
	if bodyTimeout <= 0 {
		bodyTimeout = cloudapi.DefaultBodyTimeout
	}
	s.http = &http.Server{Handler: handler, MaxHeaderBytes: cloudapi.MaxHeaderBytes, DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10*time.Second + bodyTimeout + cloudapi.HandlerTimeout,
		IdleTimeout: 2 * time.Minute, WriteTimeout: bodyTimeout + cloudapi.HandlerTimeout + time.Minute, TLSConfig: tlsCfg}
	if apiCap != nil {
		s.http.ConnState = apiCap.Track
	}
	serve = func() {
		go s.serve("api", s.http, ln, tlsCfg != nil)
		if s.metrics != nil {
			go s.serve("metrics", s.metrics, mln, false)
		}
	}
	unlisten = func() {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
	}
	return serve, unlisten, nil
}

func (s *Server) serve(name string, srv *http.Server, ln net.Listener, tls bool) {
	var err error
	if tls {
		err = srv.ServeTLS(ln, "", "") // The certificate is in srv.TLSConfig.
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		s.log.Error(name+" server", "err", err)
	}
}

// The root account's Uin and AppId when Options.Root has none.
const (
	DefaultRootUin   = "100000000001"
	DefaultRootAppID = 1250000000
)

// rootAccount is root with the default Uin and AppId where it has none,
// and no quota unless it has one.
func rootAccount(root cloudapi.Account) cloudapi.Account {
	if root.Uin == "" {
		root.Uin = DefaultRootUin
	}
	if root.AppID == 0 {
		root.AppID = DefaultRootAppID
	}
	if root.AccessIPQuota == 0 {
		// The operator's own account: a node with no other tenant keeps
		// the whole pool, as before quotas.
		root.AccessIPQuota = cloudapi.NoQuota
	}
	return root
}

// CheckRoot reports what Start refuses in root, the root account
// (Options.Root), on its own: serve checks it where it read it, to name
// its source.
func CheckRoot(root cloudapi.Account) error { return rootAccount(root).Check() }

// CheckAccounts reports what Start refuses in root and the accounts file
// set read together: serve checks it before it writes the root's
// credentials.
func CheckAccounts(root cloudapi.Account, set *Settings) error {
	_, err := loadAccounts(root, set.accounts)
	return err
}

// loadAccounts is the root account (rootAccount) and more, the accounts
// file's. A key of the root's Uin that leaves AccessIPQuota out has the
// root's: the file cannot say -1 any other way than writing it, and the
// keys of one Uin must agree.
func loadAccounts(root cloudapi.Account, more []cloudapi.Account) (*cloudapi.Accounts, error) {
	r := rootAccount(root)
	more = slices.Clone(more)
	for i, a := range more {
		if a.SecretID == root.SecretID {
			return nil, fmt.Errorf("--accounts: SecretId %q is the root account's (TENCENTCLOUD_SECRET_ID or credentials.json)", a.SecretID)
		}
		if a.Uin == r.Uin && a.AccessIPQuota == 0 {
			more[i].AccessIPQuota = r.AccessIPQuota
		}
	}
	accts, err := cloudapi.NewAccounts(append([]cloudapi.Account{r}, more...)...)
	if err != nil {
		return nil, fmt.Errorf("the root account and --accounts: %w", err)
	}
	return accts, nil
}

// APIShutdownGrace is how long API calls (and scrapes) in flight may
// finish on Close before their connections are cut. It runs alongside the
// data plane's drain, never before it: a slow or stalled API client must
// neither keep the data plane accepting nor use up its grace.
const APIShutdownGrace = 5 * time.Second

// Close stops the API (calls in flight get APIShutdownGrace) and the
// controller, meanwhile drains the data plane (for its grace, at most until
// ctx ends), records the last statistics and closes the store. Later calls
// return the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		api := make(chan struct{})
		go func() {
			s.shutdownHTTP(ctx)
			close(api)
		}()
		// The controller stops before the data plane closes: an Apply to a
		// closed runtime would be recorded as a failure.
		s.cancel()
		<-s.done
		err := s.Edge.Close(ctx)
		<-api // Its calls may still use the store.
		// The statistics of the last, partial minute, drain included (the
		// recorder stopped with the controller). Its own deadline: the
		// drain may have used up ctx's.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rerr := s.Telemetry.Record(rctx, time.Now()); rerr != nil { // Lost figures do not fail a shutdown.
			s.log.Error("record the last statistics", "err", rerr)
		}
		s.closeErr = errors.Join(err, s.Store.Close())
	})
	return s.closeErr
}

// shutdownHTTP stops the API's and the metrics' listeners at once, lets
// the requests in flight finish for APIShutdownGrace (or until ctx ends)
// and then cuts their connections. A cut call is the client's loss, not a
// failed shutdown.
func (s *Server) shutdownHTTP(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, APIShutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	for name, srv := range map[string]*http.Server{"API": s.http, "metrics": s.metrics} {
		if srv == nil {
			continue
		}
		wg.Go(func() {
			if srv.Shutdown(ctx) != nil {
				s.log.Warn("shutdown: cutting "+name+" requests still in flight", "after", APIShutdownGrace)
				srv.Close()
			}
		})
	}
	wg.Wait()
}
