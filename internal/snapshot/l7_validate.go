package snapshot

import (
	"errors"
	"fmt"
	"strings"
)

// tlsVersions orders the TLS version names.
var tlsVersions = map[string]int{"": 0, TLS10: 1, TLS11: 2, TLS12: 3, TLS13: 4}

// Validate checks one HTTP listener, its domains and rules. Certificates
// and keys are checked for presence only; the edge parses them and reports
// a listener whose material does not parse as invalid.
func (l *HTTPListener) Validate() error {
	switch {
	case l.ID == "":
		return errors.New("empty ID")
	case l.Invalid != "":
		return errors.New(l.Invalid)
	case l.Protocol != ProtoHTTP && l.Protocol != ProtoHTTPS:
		return fmt.Errorf("protocol %q: want HTTP or HTTPS", l.Protocol)
	case l.Port < 1 || l.Port > 65535:
		return fmt.Errorf("port %d out of range", l.Port)
	case l.HTTP3 && l.Protocol != ProtoHTTPS:
		return errors.New("HTTP/3 needs HTTPS")
	case l.Protocol == ProtoHTTP && l.TLS != nil:
		return errors.New("TLS settings on an HTTP listener")
	case l.Protocol == ProtoHTTPS && (l.TLS == nil || l.TLS.CertPEM == "" || l.TLS.KeyPEM == ""):
		return errors.New("HTTPS listener without certificate and key")
	}
	if err := validForward(l.ForwardProtocol); err != nil {
		return err
	}
	if err := l.TLS.validate(); err != nil {
		return err
	}
	return l.validateDomains()
}

func (l *HTTPListener) validateDomains() error {
	hosts, rules, defaults := map[string]bool{}, map[string]bool{}, 0
	for i := range l.Domains {
		d := &l.Domains[i]
		h := strings.ToLower(d.Host)
		if hosts[h] {
			return fmt.Errorf("domain %q: duplicate", d.Host)
		}
		hosts[h] = true
		if d.IsDefault {
			defaults++
		}
		if err := d.validate(l.Protocol, rules); err != nil {
			return fmt.Errorf("domain %q: %w", d.Host, err)
		}
	}
	if defaults > 1 {
		return errors.New("more than one default domain")
	}
	return nil
}

func (d *Domain) validate(proto string, ruleIDs map[string]bool) error {
	h := strings.TrimPrefix(d.Host, "*.")
	switch {
	case h == "" || strings.ContainsAny(h, "*:/ ") || strings.HasPrefix(h, "."):
		return errors.New("host must be a name or *.name")
	case d.TLS != nil && proto != ProtoHTTPS:
		return errors.New("TLS settings on an HTTP listener's domain")
	case (d.ClientCertPEM == "") != (d.ClientKeyPEM == ""):
		return errors.New("origin client certificate without key (or key without certificate)")
	}
	if err := d.TLS.validate(); err != nil {
		return err
	}
	for _, line := range d.BasicAuth {
		if _, _, ok := UserEntry(line); !ok {
			return fmt.Errorf("basic auth line %q: want user:hash", line)
		}
	}
	for i, p := range d.ErrorPages {
		if err := p.validate(); err != nil {
			return fmt.Errorf("error page %d: %w", i, err)
		}
	}
	paths := map[string]bool{}
	for i := range d.Rules {
		r := &d.Rules[i]
		err := r.validate()
		if err == nil && (ruleIDs[r.ID] || paths[r.Path]) {
			err = errors.New("duplicate rule ID or path")
		}
		if err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
		ruleIDs[r.ID], paths[r.Path] = true, true
	}
	return nil
}

func (t *TLS) validate() error {
	if t == nil {
		return nil
	}
	_, okMin := tlsVersions[t.MinVersion]
	_, okMax := tlsVersions[t.MaxVersion]
	switch {
	case !okMin || !okMax:
		return fmt.Errorf("TLS versions %q-%q: want TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3", t.MinVersion, t.MaxVersion)
	case t.MinVersion != "" && t.MaxVersion != "" && tlsVersions[t.MinVersion] > tlsVersions[t.MaxVersion]:
		return fmt.Errorf("TLS min version %s above max %s", t.MinVersion, t.MaxVersion)
	case (t.CertPEM == "") != (t.KeyPEM == ""):
		return errors.New("certificate without key (or key without certificate)")
	}
	for _, v := range t.SkipVersions {
		// Only a hole strictly inside a stated range: skipping an end
		// would just be another range, and one stated twice ambiguous.
		if n, ok := tlsVersions[v]; !ok || t.MinVersion == "" || t.MaxVersion == "" ||
			n <= tlsVersions[t.MinVersion] || n >= tlsVersions[t.MaxVersion] {
			return fmt.Errorf("TLS skipped version %q: want one strictly between %q and %q", v, t.MinVersion, t.MaxVersion)
		}
	}
	switch t.Ciphers {
	case "", CiphersStrict, CiphersGeneral, CiphersWide:
		return nil
	}
	return fmt.Errorf("ciphers %q: want a GAAP_TLS_CIPHERS_* policy", t.Ciphers)
}

func (p *ErrorPage) validate() error {
	if len(p.ErrorNos) == 0 {
		return errors.New("no status codes")
	}
	for _, n := range p.ErrorNos {
		if n < 400 || n > 599 {
			return fmt.Errorf("status %d out of 400-599", n)
		}
	}
	if p.NewErrorNo != 0 && (p.NewErrorNo < 100 || p.NewErrorNo > 599) {
		return fmt.Errorf("new status %d out of 100-599", p.NewErrorNo)
	}
	for _, h := range p.SetHeaders {
		if IsConnectionHeader(h.Name) {
			return fmt.Errorf("set header %q: the edge frames the page itself", h.Name)
		}
	}
	return nil
}

func (r *Rule) validate() error {
	switch {
	case r.ID == "":
		return errors.New("empty ID")
	case !strings.HasPrefix(r.Path, "/"):
		return fmt.Errorf("path %q must start with /", r.Path)
	// Not ParseRedirect: a rule stored before the API refused malformed
	// values must not fail its whole listener. The edge serves those as
	// "https:".
	case r.ForcedRedirect != "" && !strings.HasPrefix(strings.ToLower(r.ForcedRedirect), "https"):
		return fmt.Errorf("forced redirect %q: want https[:port] or https://authority", r.ForcedRedirect)
	}
	switch r.Scheduler {
	case SchedRR, SchedWRR, SchedLC, SchedLRTT:
	default:
		return fmt.Errorf("scheduler %q: want rr, wrr, lc or lrtt", r.Scheduler)
	}
	if err := validForward(r.ForwardProtocol); err != nil {
		return err
	}
	if err := r.Health.validate(); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return validateOrigins(r.Origins)
}

func (h *HTTPCheck) validate() error {
	if !h.Enabled {
		return nil
	}
	switch {
	case h.Interval < 0 || h.Timeout < 0 || h.Healthy < 0 || h.Unhealthy < 0:
		return errors.New("negative value")
	case h.Method != "" && h.Method != "HEAD" && h.Method != "GET":
		return fmt.Errorf("method %q: want HEAD or GET", h.Method)
	case h.Path != "" && !strings.HasPrefix(h.Path, "/"):
		return fmt.Errorf("path %q must start with /", h.Path)
	}
	for _, c := range h.StatusClasses {
		if c < 100 || c > 500 || c%100 != 0 {
			return fmt.Errorf("status class %d: want 100, 200, 300, 400 or 500", c)
		}
	}
	return nil
}

func validForward(p string) error {
	if p != "" && p != ProtoHTTP && p != ProtoHTTPS {
		return fmt.Errorf("forward protocol %q: want HTTP or HTTPS", p)
	}
	return nil
}
