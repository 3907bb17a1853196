package controller

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/snapshot"
)

// KeyOpener unseals a certificate's stored private key into PEM.
type KeyOpener func(sealed string) (string, error)

// Settings are what a compile takes from the node besides the stored state.
type Settings struct {
	// OpenKey unseals HTTPS listeners' private keys. Without it HTTPS
	// listeners are left out (they cannot serve without keys). A key that
	// fails to open marks what needs it invalid (snapshot.HTTPListener.Invalid,
	// snapshot.Domain.Invalid) with the unseal error, so the edge reports it
	// and the controller fails its task instead of pretending it runs.
	OpenKey KeyOpener
	// ConcurrentUnit is how many connections one unit of a proxy's
	// Concurrent allows: 0 (or less) means the API's unit, 10,000. Tests
	// lower it to reach the cap with a few connections.
	ConcurrentUnit int
}

// Compile turns stored state into the data plane's snapshot: every proxy
// that exists (is not being destroyed) with its listeners (HTTPS ones only
// when set can open their keys). A group's listener runs on each proxy of
// the group, under the ID snapshot.GroupInstanceID(listener, proxy) so sockets and
// counters stay apart.
func Compile(st *State, set Settings) *snapshot.Snapshot {
	ix := newIndex(st, cmp.Or(max(set.ConcurrentUnit, 0), 10_000))
	snap := compileL4(ix)
	c := newL7Index(ix, set.OpenKey)
	for i := range snap.Proxies {
		sp := &snap.Proxies[i]
		p := c.proxies[sp.ID]
		owners := []string{sp.ID}
		if p != nil && p.GroupID != "" {
			owners = append(owners, p.GroupID)
		}
		for _, owner := range owners {
			for _, l := range c.ix.listeners[owner] {
				if !l.IsL7() || l.Status == model.StatusDeleting || (l.Protocol == model.HTTPS && set.OpenKey == nil) {
					continue
				}
				hl := c.listener(l)
				if owner != sp.ID {
					hl.ID = snapshot.GroupInstanceID(l.ID, sp.ID)
				}
				sp.HTTPListeners = append(sp.HTTPListeners, hl)
			}
		}
	}
	return snap
}

// l7Index gives typed access to the layer-7 objects of a State.
type l7Index struct {
	ix      *index
	open    KeyOpener
	proxies map[string]*model.Proxy
	certs   map[string]*model.Certificate
	keys    map[string]unsealed           // by certificate ID
	domains map[string][]*model.Domain    // by listener
	rules   map[string][]*model.Rule      // by listener/host
	pages   map[string][]*model.ErrorPage // by listener/host
}

func newL7Index(ix *index, open KeyOpener) *l7Index {
	st := ix.st
	c := &l7Index{ix: ix, open: open, proxies: map[string]*model.Proxy{}, certs: map[string]*model.Certificate{},
		keys:    map[string]unsealed{},
		domains: map[string][]*model.Domain{}, rules: map[string][]*model.Rule{}, pages: map[string][]*model.ErrorPage{}}
	for _, o := range st.Objects[model.KindProxy] {
		p := o.(*model.Proxy)
		c.proxies[p.ID] = p
	}
	for _, o := range st.Objects[model.KindCertificate] {
		cert := o.(*model.Certificate)
		c.certs[cert.ID] = cert
	}
	for _, o := range st.Objects[model.KindDomain] {
		d := o.(*model.Domain)
		if d.Status != model.DomainDeleting {
			c.domains[d.ListenerID] = append(c.domains[d.ListenerID], d)
		}
	}
	for _, o := range st.Objects[model.KindRule] {
		r := o.(*model.Rule)
		if r.Status != model.StatusDeleting {
			k := r.ListenerID + "/" + strings.ToLower(r.Domain)
			c.rules[k] = append(c.rules[k], r)
		}
	}
	for _, o := range st.Objects[model.KindErrorPage] {
		e := o.(*model.ErrorPage)
		k := e.ListenerID + "/" + strings.ToLower(e.Domain)
		c.pages[k] = append(c.pages[k], e)
	}
	return c
}

func (c *l7Index) listener(l *model.Listener) snapshot.HTTPListener {
	hl := snapshot.HTTPListener{ID: l.ID, Protocol: l.Protocol, Port: int(l.Port)}
	if l.Protocol == model.HTTPS {
		hl.ForwardProtocol = l.ForwardProtocol
		// The listener's flag is what reserves the UDP port
		// (model.Listener.UsesUDPPort); a domain's flag cannot open one,
		// only keep the domain off it (domain).
		hl.HTTP3 = l.Http3Supported == 1
		hl.TLS = &snapshot.TLS{Ciphers: l.TLSCiphers}
		var err error
		hl.TLS.CertPEM, hl.TLS.KeyPEM, err = c.pair(l.CertificateID)
		invalid(&hl.Invalid, "certificate", err)
		hl.TLS.MinVersion, hl.TLS.MaxVersion, hl.TLS.SkipVersions = versionRange(l.TLSSupportVersion)
		if l.AuthType == 1 {
			hl.TLS.ClientCAPEMs, err = c.contents(l.ClientCertificateIDs)
			invalid(&hl.Invalid, "client CA", err)
		}
	}
	for _, d := range c.domains[l.ID] {
		hl.Domains = append(hl.Domains, c.domain(l, d))
	}
	return hl
}

// domain compiles one domain. One whose certificates or user list cannot be
// read is marked invalid for the edge to leave out alone, its name served by
// no other domain, its tasks failing (snapshot.Domain.Invalid).
func (c *l7Index) domain(l *model.Listener, d *model.Domain) (sd snapshot.Domain) {
	// A domain serves its listener's HTTP/3 only when it asks for it too
	// (CreateDomain: "默认不开启Http3").
	sd = snapshot.Domain{ID: d.ID, Host: d.Host, IsDefault: d.IsDefaultServer, OriginServerName: d.RealServerCertificateDomain,
		NoHTTP3: d.Http3Supported != 1}
	var err error
	if l.Protocol == model.HTTPS {
		if sd.TLS, err = c.domainTLS(l, d); err != nil {
			sd.Invalid = err.Error()
		}
	}
	if d.BasicAuth == 1 {
		sd.BasicAuth, err = basicAuthLines(l, d, c.certs[d.BasicAuthConfID])
		invalid(&sd.Invalid, "basic auth", err)
	}
	if d.RealServerAuth == 1 {
		sd.OriginCAPEMs, err = c.contents(d.RealServerCertificateIDs)
		invalid(&sd.Invalid, "origin CA", err)
	}
	if d.GaapAuth == 1 {
		sd.ClientCertPEM, sd.ClientKeyPEM, err = c.pair(d.GaapCertificateID)
		invalid(&sd.Invalid, "origin client certificate", err)
	}
	key := l.ID + "/" + d.Host
	for _, e := range c.pages[key] {
		sd.ErrorPages = append(sd.ErrorPages, errorPage(e))
	}
	for _, r := range c.rules[key] {
		sd.Rules = append(sd.Rules, c.rule(r))
	}
	return sd
}

// basicAuthLines are the lines of a domain's user list the edge can read.
// Releases before nginx's user:hash:comment form was read as nginx reads it
// stored lines such as "alice::comment", which snapshot.UserEntry refuses:
// passed on, they would make the edge refuse the whole listener, so they
// are dropped (the user cannot log in, as the API now refuses the line).
// err says why when no user is left, or no user list (a certificate the
// store no longer holds or cannot read): the domain is then invalid rather
// than served without the authentication it asked for.
func basicAuthLines(l *model.Listener, d *model.Domain, cert *model.Certificate) (lines []string, err error) {
	if cert == nil {
		return nil, fmt.Errorf("user list %s is missing or unreadable", d.BasicAuthConfID)
	}
	for n, line := range snapshot.UserLines(cert.Content) {
		if _, _, ok := snapshot.UserEntry(line); !ok {
			slog.Warn("basic auth: a stored user-list line names no user and hash, so it is not served",
				"listener", l.ID, "domain", d.Host, "certificate", cert.ID, "line", n)
			continue
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("user list %s has no usable line", cert.ID)
	}
	return lines, nil
}

// domainTLS is the TLS a domain is served with where it differs from its
// listener's by certificate or client CAs ("default" certificates mean
// the listener's), and its versions and ciphers (model.Domain.ServedTLS,
// which DescribeRules answers); nil if nothing. err is why a certificate
// it names cannot be read.
func (c *l7Index) domainTLS(l *model.Listener, d *model.Domain) (_ *snapshot.TLS, err error) {
	versions, ciphers := d.ServedTLS(l)
	t := &snapshot.TLS{Ciphers: ciphers}
	if d.CertificateID != "" && d.CertificateID != model.CertDefault {
		if t.CertPEM, t.KeyPEM, err = c.pair(d.CertificateID); err != nil {
			err = fmt.Errorf("certificate: %w", err)
		}
	}
	if ids := d.ClientCAs(l); ids != nil && err == nil {
		if t.ClientCAPEMs, err = c.contents(ids); err != nil {
			err = fmt.Errorf("client CA: %w", err)
		}
	}
	t.MinVersion, t.MaxVersion, t.SkipVersions = versionRange(versions)
	if t.CertPEM == "" && t.ClientCAPEMs == nil && t.MinVersion == "" && t.Ciphers == "" {
		return nil, err
	}
	return t, err
}

func (c *l7Index) rule(r *model.Rule) snapshot.Rule {
	sr := snapshot.Rule{ID: r.ID, Path: model.RoutePath(r.Path), Scheduler: r.Scheduler, ForcedRedirect: r.ForcedRedirect,
		Health: snapshot.HTTPCheck{Enabled: r.HealthCheck == 1,
			Interval: time.Duration(r.Check.DelayLoop) * time.Second, Timeout: time.Duration(r.Check.ConnectTimeout) * time.Second,
			// The API's FailedThreshold ("over it the origin is blocked")
			// is the checks' fall count.
			Healthy: int(r.Check.HealthyThreshold), Unhealthy: int(cmp.Or(r.Check.FailedThreshold, r.Check.UnhealthyThreshold)),
			Path: r.Check.Path, Method: r.Check.Method, Host: model.CheckHost(r.Check)},
	}
	for _, s := range r.Check.StatusCode {
		sr.Health.StatusClasses = append(sr.Health.StatusClasses, int(s))
	}
	if r.ForwardProtocol != "default" {
		sr.ForwardProtocol = r.ForwardProtocol
	}
	if r.ForwardHost != "default" {
		sr.ForwardHost = r.ForwardHost
	}
	if strings.EqualFold(r.ServerNameIndicationSwitch, "ON") {
		sr.SNI = r.ServerNameIndication
	}
	for _, h := range r.Headers {
		sr.Headers = append(sr.Headers, snapshot.Header{Name: h.Name, Value: h.Value})
	}
	ids := model.OriginIDs(r.Bindings)
	for i, b := range r.Bindings {
		rs, ok := c.ix.realServers[b.RealServerID]
		if !ok {
			continue
		}
		sr.FailoverSwitch = sr.FailoverSwitch || b.Role != ""
		sr.Origins = append(sr.Origins, snapshot.Origin{ID: ids[i], Host: rs.Address, IsDomain: rs.IsDomain,
			Port: int(b.Port), Weight: int(b.Weight), Secondary: b.Role == model.RoleSlave})
	}
	return sr
}

func errorPage(e *model.ErrorPage) snapshot.ErrorPage {
	p := snapshot.ErrorPage{NewErrorNo: int(e.NewErrorNo), Body: e.Body, ClearHeaders: e.ClearHeaders}
	for _, n := range e.ErrorNos {
		p.ErrorNos = append(p.ErrorNos, int(n))
	}
	for _, h := range e.SetHeaders {
		// Releases before the API refused them stored hop-by-hop and
		// framing headers, which the snapshot check refuses for the whole
		// listener: only the header is left out.
		if snapshot.IsConnectionHeader(h.Name) {
			slog.Warn("error page: a stored SetHeaders header is hop-by-hop or framing, so it is not sent",
				"listener", e.ListenerID, "domain", e.Domain, "error_page", e.ID, "header", h.Name)
			continue
		}
		p.SetHeaders = append(p.SetHeaders, snapshot.Header{Name: h.Name, Value: h.Value})
	}
	return p
}

// unsealed is a certificate's key opened once per compile, or why not.
type unsealed struct {
	pem string
	err error
}

// cert returns a stored certificate, or why it cannot be read: its row did
// not decode (State.Undecodable) or is not stored.
func (c *l7Index) cert(id string) (*model.Certificate, error) {
	if cert := c.certs[id]; cert != nil {
		return cert, nil
	}
	if why, ok := c.ix.st.Undecodable[id]; ok {
		return nil, errors.New(why)
	}
	return nil, fmt.Errorf("%s is not stored", id)
}

// pair returns a certificate's PEM and its unsealed key, or why it cannot
// (the unseal error of a changed certificate-keys.key, say): nothing of
// the pair then, as half a pair is no pair to serve.
func (c *l7Index) pair(id string) (certPEM, keyPEM string, err error) {
	cert, err := c.cert(id)
	if err != nil {
		return "", "", err
	}
	if c.open == nil {
		return "", "", fmt.Errorf("no key opener to unseal the key of %s", id)
	}
	key, ok := c.keys[id]
	if !ok {
		key.pem, key.err = c.open(cert.KeySealed)
		c.keys[id] = key
	}
	if key.err != nil {
		return "", "", fmt.Errorf("key of %s does not unseal: %w", id, key.err)
	}
	return cert.Content, key.pem, nil
}

// contents returns the PEM contents of certificates by ID, or why one of
// them cannot be read. These are CA lists, and the edge verifies against
// what it is given, an empty list meaning no verification at all: served
// without one of its CAs, a listener or domain would turn down clients or
// origins that CA vouches for, without any, accept them unverified.
func (c *l7Index) contents(ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		cert, err := c.cert(id)
		if err != nil {
			return nil, err
		}
		out = append(out, cert.Content)
	}
	return out, nil
}

// invalid records in why (a snapshot's Invalid) that what cannot be
// compiled for err; the first failure is the one given.
func invalid(why *string, what string, err error) {
	if err != nil && *why == "" {
		*why = what + ": " + err.Error()
	}
}

// versionRange turns GAAP's version list into its lowest and highest, and
// the versions between them it leaves out (served by none: the edge
// serves exactly the set listed).
func versionRange(vs []string) (lo, hi string, skip []string) {
	order := []string{snapshot.TLS10, snapshot.TLS11, snapshot.TLS12, snapshot.TLS13}
	var gap []string // Unlisted versions since the last listed one.
	for _, v := range order {
		switch {
		case slices.Contains(vs, v):
			if lo == "" {
				lo = v
			}
			hi, skip, gap = v, append(skip, gap...), nil
		case lo != "":
			gap = append(gap, v)
		}
	}
	return lo, hi, skip
}
