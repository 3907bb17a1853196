package snapshot

import (
	"errors"
	"fmt"
	"net/netip"
)

// validateMirrors checks every mirror; errors are of kind "mirror". A
// source naming a proxy that is not in the snapshot is not an error: the
// proxy may live on another node, and the mirror then copies nothing here.
func (s *Snapshot) validateMirrors() []*ObjectError {
	var errs []*ObjectError
	seen := map[string]bool{}
	for i := range s.Mirrors {
		m := &s.Mirrors[i]
		err := m.Validate()
		if err == nil && seen[m.ID] {
			err = errors.New("duplicate mirror ID")
		}
		seen[m.ID] = true
		if err != nil {
			errs = append(errs, &ObjectError{Kind: "mirror", ID: m.ID, Err: err})
		}
	}
	return errs
}

// Validate checks one mirror.
func (m *Mirror) Validate() error {
	switch {
	case m.ID == "":
		return errors.New("empty ID")
	case m.VNI == 0 || m.VNI > 0xFFFFFF:
		return fmt.Errorf("VNI %d out of 1-16777215", m.VNI)
	case m.Direction != MirrorIngress && m.Direction != MirrorEgress && m.Direction != MirrorAll:
		return fmt.Errorf("direction %q: want INGRESS, EGRESS or ALL", m.Direction)
	case m.AlgHash != "" && m.AlgHash != MirrorHashFlow && m.AlgHash != MirrorHashSource:
		return fmt.Errorf("hash %q: want FIVE_TUPLE_FLOW or ENI", m.AlgHash)
	case len(m.Targets) == 0:
		return errors.New("no targets")
	}
	for _, src := range m.Sources {
		if src.ProxyID == "" {
			return errors.New("source without proxy ID")
		}
	}
	for i, t := range m.Targets {
		a, err := netip.ParseAddr(t.IP)
		if err != nil || !a.Unmap().Is4() || t.Port < 0 || t.Port > 65535 {
			return fmt.Errorf("target %d (%s:%d): want an IPv4 address and a port", i, t.IP, t.Port)
		}
	}
	for i, f := range m.Filters {
		if err := f.validate(); err != nil {
			return fmt.Errorf("filter %d: %w", i, err)
		}
	}
	return nil
}

func (f *MirrorFilter) validate() error {
	switch {
	case f.Direction != MirrorIngress && f.Direction != MirrorEgress:
		return fmt.Errorf("direction %q: want INGRESS or EGRESS", f.Direction)
	case f.Action != MirrorAccept && f.Action != MirrorDrop:
		return fmt.Errorf("action %q: want ACCEPT or DROP", f.Action)
	}
	switch f.Protocol {
	case "", ProtoAll, ProtoTCP, ProtoUDP, MirrorProtoICMP:
	default:
		return fmt.Errorf("protocol %q: want TCP, UDP, ICMP or ALL", f.Protocol)
	}
	for _, c := range []string{f.SrcCIDR, f.DstCIDR} {
		if _, err := ParseMirrorNet(c); err != nil {
			return err
		}
	}
	for _, r := range []PortRange{f.SrcPorts, f.DstPorts} {
		if !r.Any() && (r.Lo < 1 || r.Hi > 65535 || r.Lo > r.Hi) {
			return fmt.Errorf("port range %d-%d invalid", r.Lo, r.Hi)
		}
	}
	return nil
}

// ParseMirrorNet parses a filter network: "" (any), an address or a CIDR.
// The zero prefix means any.
func ParseMirrorNet(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, nil
	}
	return ParseSource(s)
}
