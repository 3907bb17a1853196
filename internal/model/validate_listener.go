package model

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Listener quotas. The reference names the errors (OperateLimitNumofListener,
// LimitNumofListener, LimitRealServerNum) but not the numbers; these are the
// console's documented limits (docs/api-listeners.md).
const (
	MaxPortsPerCall      = 20  // ports in one CreateTCPListeners/CreateUDPListeners call
	MaxListenersPerOwner = 200 // listeners of all protocols on one proxy or group
	MaxBindings          = 100 // origins bound to one listener
	MaxNameLen           = 60  // listener and origin names
)

// MaxUDPProbePayload bounds a UDP health-check payload, counted after its
// ContextType decoding: SendContext is sent as one datagram, which carries
// at most 65507 bytes over IPv4, and a longer RecvContext could never be
// found in a reply.
const MaxUDPProbePayload = 65507

// Enumerations of listener parameters.
var (
	Schedulers        = []string{"rr", "wrr", "lc", "lrtt"}
	RealServerTypes   = []string{"IP", "DOMAIN"}
	ForwardProtocols  = []string{HTTP, HTTPS}
	TLSVersions       = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
	TLSCipherSuites   = []string{TLSCiphersStrict, "GAAP_TLS_CIPHERS_GENERAL", "GAAP_TLS_CIPHERS_WIDE"}
	UDPCheckTypes     = []string{"PORT", "PING"}
	UDPContextTypes   = []string{"TEXT", "HEX"}
	DefaultTLSVersion = []string{"TLSv1.2", "TLSv1.3"}
	DefaultTLSCiphers = "GAAP_TLS_CIPHERS_WIDE"
)

// invalid is the InvalidParameterValue error naming the parameter.
func invalid(param, format string, args ...any) error {
	return apierr.New(apierr.InvalidParameterValue, "%s: "+format, append([]any{param}, args...)...)
}

// CheckName validates a listener or origin name.
func CheckName(param, name string) error {
	if strings.TrimSpace(name) == "" {
		return invalid(param, "must not be empty")
	}
	if n := len([]rune(name)); n > MaxNameLen {
		return invalid(param, "is %d characters long; at most %d are allowed", n, MaxNameLen)
	}
	return nil
}

// CheckListenerPort validates an access port: 1-64999 (65000 and up are the
// platform's own), and not 21, which GAAP reserves.
func CheckListenerPort(param string, port int64) error {
	if port < 1 || port > 64999 || port == 21 {
		return apierr.New(apierr.InvalidParameterValueInvalidListenerPort,
			"%s: port %d cannot be used; listener ports are 1-64999, except 21", param, port)
	}
	return nil
}

// CheckOriginPort validates an origin (real server) port.
func CheckOriginPort(param string, port int64) error {
	if port < 1 || port > 65535 {
		return invalid(param, "%d is not a port; use 1-65535", port)
	}
	return nil
}

// CheckEnum validates that v is one of allowed.
func CheckEnum(param, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return invalid(param, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

// CheckRange validates lo <= v <= hi.
func CheckRange(param string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return invalid(param, "%d is out of range [%d, %d]", v, lo, hi)
	}
	return nil
}

// CheckSwitch validates a 0/1 flag.
func CheckSwitch(param string, v int64) error { return CheckRange(param, v, 0, 1) }

// Capabilities are what the operator allows and the data plane can do,
// which some rules depend on.
type Capabilities struct {
	PrivateOrigins bool // Loopback and private origin addresses are allowed.
	TOA            bool // The data plane writes TOA options (internal/edge/toa).
	Ping           bool // The data plane can send ICMP echo (UDP health checks of CheckType PING).
}

// CheckClientIPMethod accepts 1 (Proxy Protocol), and 0 (TOA) where the
// data plane can write TCP options (toa: an eBPF program, see
// internal/edge/toa); elsewhere TOA is refused rather than silently
// ignored.
func CheckClientIPMethod(v int64, toa bool) error {
	switch v {
	case ClientIPProxyProtocol:
		return nil
	case ClientIPTOA:
		if toa {
			return nil
		}
		return invalid("ClientIPMethod", "0 (TOA) is not available on this server (it needs Linux 5.10 or later with cgroup v2 and permission to load BPF programs); use 1 (Proxy Protocol) to pass the client address, or omit ClientIPMethod to pass none")
	}
	return invalid("ClientIPMethod", "%d is not one of 0 (TOA), 1 (Proxy Protocol)", v)
}

// TLSCiphersStrict is the cipher policy whose suites exist in TLS 1.2
// alone: ECDHE with AES-GCM or ChaCha20-Poly1305 (docs/dataplane-l7.md,
// "TLS versions and cipher policies"; TLS 1.3 has suites of its own).
const TLSCiphersStrict = "GAAP_TLS_CIPHERS_STRICT"

// CheckTLS validates TLS versions and a cipher policy (SetTlsVersion's
// parameters): each alone, then together (CheckTLSPair), refused with
// conflict, the code the action lists for parameters that exclude each
// other.
func CheckTLS(versions []string, ciphers string, conflict apierr.Code) error {
	if err := CheckTLSVersions(versions); err != nil {
		return err
	}
	if err := CheckEnum("TLSCiphers", ciphers, TLSCipherSuites); err != nil {
		return err
	}
	return CheckTLSPair(versions, ciphers, conflict)
}

// CheckTLSPair refuses, with conflict, TLS versions in which no suite of
// the cipher policy can be used: STRICT's suites need TLS 1.2, so with
// TLSv1 and TLSv1.1 alone the listener read running and refused every
// client (HTTP/3 too, which needs TLS 1.3). The edge serves the range
// from the lowest version listed to the highest, so TLSv1.2 or TLSv1.3
// anywhere in the list will do. Versions not known (none) are not
// checked.
func CheckTLSPair(versions []string, ciphers string, conflict apierr.Code) error {
	if ciphers != TLSCiphersStrict || len(versions) == 0 ||
		slices.ContainsFunc(versions, func(v string) bool { return v == "TLSv1.2" || v == "TLSv1.3" }) {
		return nil
	}
	return apierr.New(conflict, "TLSSupportVersion %s with TLSCiphers %s: that policy's suites exist in TLS 1.2 only, "+
		"so no client could connect; add TLSv1.2 or TLSv1.3, or choose GAAP_TLS_CIPHERS_GENERAL or GAAP_TLS_CIPHERS_WIDE",
		strings.Join(versions, ", "), ciphers)
}

// CheckTLSVersions validates a TLSSupportVersion list: at least one known
// version, none twice.
func CheckTLSVersions(versions []string) error {
	if len(versions) == 0 {
		return invalid("TLSSupportVersion", "give at least one of %s", strings.Join(TLSVersions, ", "))
	}
	for i, v := range versions {
		if err := CheckEnum("TLSSupportVersion."+strconv.Itoa(i), v, TLSVersions); err != nil {
			return err
		}
		if slices.Contains(versions[:i], v) {
			return invalid("TLSSupportVersion", "%s is listed twice", v)
		}
	}
	return nil
}

// checkHealth validates the health-check timing of a layer-4 listener after
// the request was merged into it.
func (l *Listener) checkHealth() error {
	checks := []error{
		CheckSwitch("HealthCheck", l.HealthCheck),
		CheckRange("DelayLoop", l.DelayLoop, 5, 300),
		CheckRange("ConnectTimeout", l.ConnectTimeout, 2, 60),
		CheckRange("HealthyThreshold", l.HealthyThreshold, 1, 10),
		CheckRange("UnhealthyThreshold", l.UnhealthyThreshold, 1, 10),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if l.ConnectTimeout >= l.DelayLoop {
		return invalid("ConnectTimeout", "%d s must be less than DelayLoop (%d s)", l.ConnectTimeout, l.DelayLoop)
	}
	return nil
}

// checkUDPProbe validates the UDP health-check probe: payloads
// hexadecimal with HEX, and each fitting one datagram.
func (l *Listener) checkUDPProbe() error {
	if err := CheckEnum("CheckType", l.CheckType, UDPCheckTypes); err != nil {
		return err
	}
	if err := CheckEnum("ContextType", l.ContextType, UDPContextTypes); err != nil {
		return err
	}
	if l.CheckPort != 0 {
		if err := CheckOriginPort("CheckPort", l.CheckPort); err != nil {
			return err
		}
	}
	for _, c := range [...]struct{ param, v string }{{"SendContext", l.SendContext}, {"RecvContext", l.RecvContext}} {
		n := len(c.v)
		if l.ContextType == "HEX" {
			b, err := hex.DecodeString(c.v)
			if err != nil {
				return invalid(c.param, "is not hexadecimal although ContextType is HEX")
			}
			n = len(b)
		}
		if n > MaxUDPProbePayload {
			return invalid(c.param, "is %d bytes (%s); one UDP datagram carries at most %d", n, l.ContextType, MaxUDPProbePayload)
		}
	}
	return nil
}

// checkL4 validates the merged layer-4 settings of l.
func (l *Listener) checkL4() error {
	if err := CheckEnum("Scheduler", l.Scheduler, Schedulers); err != nil {
		return err
	}
	if err := CheckEnum("RealServerType", l.RealServerType, RealServerTypes); err != nil {
		return err
	}
	if l.RealServerType == "DOMAIN" && (l.Scheduler == "wrr" || l.Scheduler == "lrtt") {
		return invalid("Scheduler", "%s is not available for DOMAIN origins; use rr or lc", l.Scheduler)
	}
	if err := CheckSwitch("FailoverSwitch", l.FailoverSwitch); err != nil {
		return err
	}
	if l.FailoverSwitch == 1 && l.RealServerType == "DOMAIN" {
		return invalid("FailoverSwitch", "primary/backup mode is not available for DOMAIN origins")
	}
	if err := l.checkHealth(); err != nil {
		return err
	}
	if l.Protocol == UDP {
		return l.checkUDPProbe()
	}
	return nil
}

// CheckL7 validates a new HTTP or HTTPS listener.
func CheckL7(l *Listener) error {
	if err := CheckName("ListenerName", l.Name); err != nil {
		return err
	}
	if err := CheckListenerPort("Port", l.Port); err != nil {
		return err
	}
	if l.Protocol != HTTPS {
		return nil
	}
	if err := CheckEnum("ForwardProtocol", l.ForwardProtocol, ForwardProtocols); err != nil {
		return err
	}
	if err := CheckSwitch("AuthType", l.AuthType); err != nil {
		return err
	}
	return CheckSwitch("Http3Supported", l.Http3Supported)
}

// BindSpec is one origin of a BindListenerRealServers call; nil fields
// were absent.
type BindSpec struct {
	Origin *RealServer
	IP     string // RealServerIP as given; must be the origin's address
	Port   int64
	Weight *int64
	Role   *string
}

// MaxOwnerBindings is the most origin bindings the listeners and rules of
// one proxy or group may hold together: MaxListenersPerOwner listeners of
// MaxBindings, which TCP and UDP listeners cannot pass and EdgeOne proxies
// are held to (TeoMaxProxyOrigins). A layer-7 listener's bindings are its
// rules' (100 domains of 100 rules of MaxBindings each), so without it one
// listener held a million backends, each with a health checker on the node
// serving every tenant.
const MaxOwnerBindings = MaxListenersPerOwner * MaxBindings

// CheckOwnerBindings refuses (code) the n bindings an owner's listeners
// and rules would hold after a change beyond MaxOwnerBindings.
func CheckOwnerBindings(owner string, n int, code apierr.Code) error {
	if n > MaxOwnerBindings {
		return apierr.New(code, "%s would hold %d origin bindings over its listeners and rules; at most %d are allowed", owner, n, MaxOwnerBindings)
	}
	return nil
}

// CheckBindingCount refuses a RealServerBindSet of more than MaxBindings
// origins, for a TCP or UDP listener and for a layer-7 rule alike: each
// binding is a backend with a health checker of its own on the edge, and
// TeoMaxProxyOrigins takes MaxBindings as the most one of them holds. The
// refusal is code: BindListenerRealServers lists
// FailedOperation.LimitRealServerNum, BindRuleRealServers no limit code.
func CheckBindingCount(n int, code apierr.Code) error {
	if n > MaxBindings {
		return apierr.New(code, "RealServerBindSet: %d origins given; at most %d can be bound to a listener or rule", n, MaxBindings)
	}
	return nil
}

// Bind validates the complete new origin set of a TCP or UDP listener in
// project and returns it as bindings (the call replaces the old set).
func (l *Listener) Bind(specs []BindSpec, project int64) ([]Bound, error) {
	if err := CheckBindingCount(len(specs), apierr.FailedOperationLimitRealServerNum); err != nil {
		return nil, err
	}
	out := make([]Bound, 0, len(specs))
	masters := 0
	for i, sp := range specs {
		b, err := l.bindOne("RealServerBindSet."+strconv.Itoa(i)+".", sp, project)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o Bound) bool { return o.RealServerID == b.RealServerID && o.Port == b.Port }) {
			return nil, invalid("RealServerBindSet", "origin %s port %d is listed twice", b.RealServerID, b.Port)
		}
		if b.Role == RoleMaster {
			masters++
		}
		out = append(out, b)
	}
	if l.FailoverSwitch == 1 && len(out) > 0 && masters == 0 {
		return nil, invalid("RealServerFailoverRole", "with FailoverSwitch on at least one origin must be master")
	}
	return out, nil
}

// bindOne validates one origin of a bind set; p prefixes parameter names.
func (l *Listener) bindOne(p string, sp BindSpec, project int64) (Bound, error) {
	o := sp.Origin
	b := Bound{RealServerID: o.ID, Port: sp.Port, Weight: 1}
	switch {
	case !o.HasAddress(sp.IP):
		return b, invalid(p+"RealServerIP", "%q is not the address of origin %s (%s)", sp.IP, o.ID, o.Address)
	case o.Type() != l.RealServerType:
		return b, invalid(p+"RealServerId", "origin %s is of type %s but the listener's RealServerType is %s", o.ID, o.Type(), l.RealServerType)
	}
	if err := o.CheckProject(p+"RealServerId", project); err != nil {
		return b, err
	}
	if err := CheckOriginPort(p+"RealServerPort", sp.Port); err != nil {
		return b, err
	}
	// The listener's origin port (RealServerPorts, "监听器转发源站端口")
	// is the one it forwards to; another would be shown but not used. A
	// port bound before this check keeps being accepted, so the set stored
	// then can be sent again.
	if op := l.OriginPort(); op != 0 && sp.Port != op && !slices.ContainsFunc(l.Bindings, func(o Bound) bool { return o.Port == sp.Port }) {
		return b, invalid(p+"RealServerPort", "%d is not the listener's origin port %d (its RealServerPorts); bind origins on %d", sp.Port, op, op)
	}
	if sp.Weight != nil {
		if err := CheckRange(p+"RealServerWeight", *sp.Weight, 1, 100); err != nil {
			return b, err
		}
		b.Weight = *sp.Weight
	}
	if sp.Role == nil || *sp.Role == "" {
		if l.FailoverSwitch == 1 {
			b.Role = RoleMaster
		}
		return b, nil
	}
	if l.FailoverSwitch == 0 {
		return b, invalid(p+"RealServerFailoverRole", "roles apply only when the listener's FailoverSwitch is 1")
	}
	b.Role = *sp.Role
	return b, CheckEnum(p+"RealServerFailoverRole", b.Role, []string{RoleMaster, RoleSlave})
}
