package model

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"
)

// EdgeOne (teo) resources. Their IDs follow Tencent's shapes: zones
// zone-xxxxxxxxxxxx, L4 proxies sid-xxxxxxxxxxxx, rules rule-xxxxxxxxxxxx
// (12 lower-case letters and digits), origin groups and their records
// origin-<uuid> and record-<uuid>.
const (
	PrefixTeoZone        = "zone"
	PrefixTeoL4Proxy     = "sid"
	PrefixTeoL4Rule      = "rule"
	PrefixTeoOriginGroup = "origin"
	PrefixTeoRecord      = "record"
)

// NewTeoID returns prefix + "-" + 12 random lower-case letters and digits.
func NewTeoID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + "-" + string(b[:])
}

// NewTeoUUID returns prefix + "-" + a random UUID (version 4), the shape
// of origin group and record IDs.
func NewTeoUUID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Zone access types (CreateZone Type).
const (
	ZonePartial        = "partial"
	ZoneFull           = "full"
	ZoneNoDomainAccess = "noDomainAccess"
	ZoneDNSPodAccess   = "dnsPodAccess"
	ZoneAI             = "ai"
)

// Acceleration areas of zones and L4 proxies.
const (
	AreaMainland = "mainland"
	AreaOverseas = "overseas"
	AreaGlobal   = "global"
)

// KindTeoZone is the stored kind of TeoZone.
const KindTeoZone = "teozone"

// TeoZone is an EdgeOne site. opengaap has no plans, DNS or ownership
// checks: a zone is active as soon as it is created. Paused (ModifyZoneStatus)
// stops the zone's service: the controller must compile every L4 proxy of a
// paused zone as closed, whatever the proxy's own status.
type TeoZone struct {
	Base
	Name      string `json:"name,omitempty"` // "" for noDomainAccess zones
	AliasName string `json:"aliasName,omitempty"`
	Type      string `json:"type"`
	Area      string `json:"area,omitempty"`
	PlanID    string `json:"planId,omitempty"` // recorded, not checked
	Tags      []Tag  `json:"tags,omitempty"`
	Paused    bool   `json:"paused"`
	// VanityNameServers are recorded for full (NS) zones; nothing serves them.
	VanitySwitch  string   `json:"vanitySwitch,omitempty"`
	VanityServers []string `json:"vanityServers,omitempty"`
	ModifyTime    int64    `json:"modifyTime"` // Unix seconds
	// Departed is the history of deleted L4 proxies and rules that zones
	// kept in their own row before it moved to TeoDeparted rows: read as
	// those are (LegacyDeparted), and moved out by the zone's next
	// deletion. Nothing adds to it.
	Departed []TeoLegacyDeparted `json:"departed,omitempty"`
}

// TeoLegacyDeparted is an entry of TeoZone.Departed.
type TeoLegacyDeparted struct {
	ID      string `json:"id"`
	ProxyID string `json:"proxyId,omitempty"`
	At      int64  `json:"at"` // Unix seconds of the deletion
}

// LegacyDeparted returns the zone's Departed entries as TeoDeparted rows,
// leaving out those deleted more than StatsLongestRetention before now.
func (z *TeoZone) LegacyDeparted(now time.Time) []*TeoDeparted {
	var out []*TeoDeparted
	for _, d := range z.Departed {
		if now.Sub(time.Unix(d.At, 0)) <= StatsLongestRetention {
			out = append(out, &TeoDeparted{Base: Base{ID: d.ID, Account: z.Account, CreateTime: d.At}, ZoneID: z.ID, ProxyID: d.ProxyID})
		}
	}
	return out
}

// KindTeoDeparted is the stored kind of TeoDeparted. It is not in Kinds:
// nothing is compiled from it, and the controller, which loads every
// registered kind on every pass, must not read a history that grows with
// every deletion.
const KindTeoDeparted = "teodeparted"

// TeoDeparted is an L4 proxy or rule deleted from a zone, one row each
// under the zone, kept for StatsLongestRetention: their statistics series
// outlive them, and DescribeTimingL4Data still reads them as the zone's
// (docs/api-teo.md). Only that action reads them, so the cost of every
// other call on the zone does not grow with its past deletions.
type TeoDeparted struct {
	Base           // ID is the deleted object's; CreateTime when it was deleted.
	ZoneID  string `json:"zoneId"`
	ProxyID string `json:"proxyId,omitempty"` // a rule's proxy; "" for a proxy
}

func (d *TeoDeparted) Kind() string   { return KindTeoDeparted }
func (d *TeoDeparted) Parent() string { return d.ZoneID }
func (d *TeoDeparted) Project() int64 { return 0 }

func (z *TeoZone) Kind() string   { return KindTeoZone }
func (z *TeoZone) Parent() string { return "" }
func (z *TeoZone) Project() int64 { return 0 }

// ActiveStatus is the zone's display status (Zone.ActiveStatus).
func (z *TeoZone) ActiveStatus() string {
	if z.Paused {
		return "paused"
	}
	return "active"
}

func init() {
	registerKind(KindTeoZone, func() Object { return new(TeoZone) })
	registerKind(KindTeoL4Proxy, func() Object { return new(TeoL4Proxy) })
	registerKind(KindTeoL4Rule, func() Object { return new(TeoL4Rule) })
	registerKind(KindTeoOriginGroup, func() Object { return new(TeoOriginGroup) })
}

// CheckZoneType validates CreateZone/ModifyZone Type.
func CheckZoneType(v string) error {
	switch v {
	case ZonePartial, ZoneFull, ZoneNoDomainAccess, ZoneDNSPodAccess, ZoneAI:
		return nil
	}
	return invalid("Type", "%q is not partial, full, noDomainAccess, dnsPodAccess or ai", v)
}

// CheckArea validates an acceleration area.
func CheckArea(param, v string) error {
	switch v {
	case AreaMainland, AreaOverseas, AreaGlobal:
		return nil
	}
	return invalid(param, "%q is not mainland, overseas or global", v)
}

// CheckZoneName validates the site name of a partial/full zone: a domain
// name such as example.com.
func CheckZoneName(name string) error {
	if !hostName(name, 2, true) || name != strings.ToLower(name) {
		return invalid("ZoneName", "%q is not a domain name such as example.com", name)
	}
	return nil
}

// MaxVanityNameServers bounds a zone's custom name servers: the reference
// gives no figure; registrars take 2 to 13 NS records (a DNS answer of the
// root's size), so 10 leaves room and keeps a zone's record small.
const MaxVanityNameServers = 10

// CheckVanityNameServers validates ModifyZone's VanityNameServers: Switch
// on or off; Servers host names (the reference's examples have and lack
// the trailing dot: both are taken) named once each, at least one when on.
func CheckVanityNameServers(on string, servers []string) error {
	if err := CheckOnOff("VanityNameServers.Switch", on); err != nil {
		return err
	}
	if on == TeoOn && len(servers) == 0 {
		return invalid("VanityNameServers.Servers", "at least one name server is needed when Switch is on")
	}
	if len(servers) > MaxVanityNameServers {
		return invalid("VanityNameServers.Servers", "%d name servers; at most %d", len(servers), MaxVanityNameServers)
	}
	seen := make(map[string]bool, len(servers))
	for _, s := range servers {
		name := strings.ToLower(strings.TrimSuffix(s, "."))
		if !IsHostName(s) {
			return invalid("VanityNameServers.Servers", "%q is not a host name such as ns1.example.com", s)
		}
		if seen[name] {
			return invalid("VanityNameServers.Servers", "%q is given twice", s)
		}
		seen[name] = true
	}
	return nil
}

// CheckAliasZoneName validates AliasZoneName: up to 200 of letters,
// digits, '.', '-' and '_'.
func CheckAliasZoneName(v string) error {
	if len(v) > 200 {
		return invalid("AliasZoneName", "must be at most 200 characters")
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return invalid("AliasZoneName", "%q may hold only letters, digits, '.', '-' and '_'", v)
		}
	}
	return nil
}
