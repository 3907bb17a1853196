package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Origin group types (OriginGroup.Type). Only GENERAL groups may be used
// by L4 rules.
const (
	OriginGroupGeneral = "GENERAL"
	OriginGroupHTTP    = "HTTP"
)

// Origin record types (OriginRecord.Type).
const (
	RecordIPDomain = "IP_DOMAIN"
	RecordCOS      = "COS"
	RecordAWSS3    = "AWS_S3"
)

// Origin health values (OriginHealthStatus.Healthy).
const (
	Healthy    = "Healthy"
	Unhealthy  = "Unhealthy"
	Undetected = "Undetected"
)

// TeoOriginHealthMetric is the stats series (store.Stats) of an origin
// group record's health as the data plane sees it: 1 healthy, 0
// unhealthy, granularity 60, object TeoOriginHealthObject(group, record).
// DescribeOriginGroupHealthStatus reads the latest point of the last few
// minutes; without one the origin is Undetected.
const TeoOriginHealthMetric = "OriginHealth"

// TeoOriginHealthObject names the health series of one record of a group.
func TeoOriginHealthObject(groupID, recordID string) string { return groupID + "/" + recordID }

// ParseTeoOriginHealthObject splits a TeoOriginHealthObject; ok is false
// for anything else (an origin named by its address).
func ParseTeoOriginHealthObject(id string) (groupID, recordID string, ok bool) {
	groupID, recordID, ok = strings.Cut(id, "/")
	return groupID, recordID, ok && strings.HasPrefix(groupID, PrefixTeoOriginGroup+"-") &&
		strings.HasPrefix(recordID, PrefixTeoRecord+"-")
}

// KindTeoOriginGroup is the stored kind of TeoOriginGroup.
const KindTeoOriginGroup = "teoorigingroup"

// TeoOriginGroup is a named set of origins of a zone.
type TeoOriginGroup struct {
	Base
	ZoneID     string            `json:"zoneId"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Records    []TeoOriginRecord `json:"records"`
	HostHeader string            `json:"hostHeader,omitempty"`
	UpdateTime int64             `json:"updateTime"`
}

// TeoMaxGroupRecords is how many records an origin group holds. The spec
// sets no bound; this is the most origins an IP_DOMAIN rule may list
// (OriginValue) and a GAAP listener may bind (MaxBindings). Every record is
// an origin of each port of every rule using the group, and
// DescribeOriginGroupHealthStatus reads a series per record.
const TeoMaxGroupRecords = MaxBindings

// TeoOriginRecord is one origin of a group. Record is as the caller
// spelled it, which Describe answers (Terraform compares it exactly);
// Host is it normalised (ParseOrigin): an IP literal or (IsDomain) a name
// to resolve, what the data plane connects to and comparisons use (Addr).
// Weight is the wrr weight (nil: no weight set, treat as equal weights; 0:
// no traffic).
type TeoOriginRecord struct {
	ID       string `json:"id"`
	Record   string `json:"record"`
	Host     string `json:"host,omitempty"`
	Type     string `json:"type"`
	IsDomain bool   `json:"isDomain,omitempty"`
	Weight   *int64 `json:"weight,omitempty"`
	Private  bool   `json:"private,omitempty"`
	// PrivateParameters of COS/AWS_S3 records are kept for Describe.
	PrivateParameters [][2]string `json:"privateParameters,omitempty"`
	// SecretSealed: the TeoSecretParameter value in PrivateParameters is
	// sealed (SealSecrets). Records stored before sealing hold it in
	// clear, without this flag.
	SecretSealed bool `json:"secretSealed,omitempty"`
}

// TeoSecretParameter is the PrivateParameters member that is a credential
// of the tenant's object storage: it is stored sealed, as certificate
// private keys are, so a copied database alone does not leak it.
const TeoSecretParameter = "SecretAccessKey"

// SealSecrets seals the secret parameter of every record not sealed yet:
// given by a call, or stored in clear by an earlier release (sealed on
// the group's next write).
func (g *TeoOriginGroup) SealSecrets(seal func(string) string) {
	for i := range g.Records {
		r := &g.Records[i]
		if r.SecretSealed {
			continue
		}
		for j, p := range r.PrivateParameters {
			// An empty one has nothing to hide, and sealing it would count
			// as a secret the key file is needed for (seal.Load).
			if p[0] == TeoSecretParameter && p[1] != "" {
				r.PrivateParameters[j][1] = seal(p[1])
				r.SecretSealed = true
			}
		}
	}
}

// Sealed counts the records whose secret parameter is sealed.
func (g *TeoOriginGroup) Sealed() int {
	n := 0
	for _, r := range g.Records {
		if r.SecretSealed {
			n++
		}
	}
	return n
}

// OpenParameters returns the record's PrivateParameters with the secret
// parameter in clear.
func (r *TeoOriginRecord) OpenParameters(open func(string) (string, error)) ([][2]string, error) {
	ps := slices.Clone(r.PrivateParameters)
	for i, p := range ps {
		if p[0] == TeoSecretParameter && r.SecretSealed {
			v, err := open(p[1])
			if err != nil {
				return nil, fmt.Errorf("origin record %s: %w", r.ID, err)
			}
			ps[i][1] = v
		}
	}
	return ps, nil
}

// Addr is the record's address normalised (Host, or Record as rows
// stored before Host hold it).
func (r *TeoOriginRecord) Addr() string { return cmp.Or(r.Host, r.Record) }

func (g *TeoOriginGroup) Kind() string   { return KindTeoOriginGroup }
func (g *TeoOriginGroup) Parent() string { return g.ZoneID }
func (g *TeoOriginGroup) Project() int64 { return 0 }

// CheckOriginGroupName validates a group name: 1-200 of a-z, A-Z, 0-9,
// '_' and '-'.
func CheckOriginGroupName(name string) error {
	if name == "" || len(name) > 200 {
		return invalid("Name", "must be 1-200 characters")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return invalid("Name", "%q may hold only a-z, A-Z, 0-9, '_' and '-'", name)
		}
	}
	return nil
}

// CheckOriginGroupType validates a group type.
func CheckOriginGroupType(t string) error {
	if t != OriginGroupGeneral && t != OriginGroupHTTP {
		return apierr.New(apierr.Code("InvalidParameter.InvalidOriginGroupType"), "Type: %q is not GENERAL or HTTP", t)
	}
	return nil
}

// CheckRecords validates the records of a group of type typ and
// normalizes their addresses (IDs are given by NewRecordIDs or
// KeepRecordIDs). GENERAL groups take IP and domain records only; an
// address may appear once (a record is one origin, and RecordIds are
// matched by address); weights are 0-100 and at least one must be above 0
// when any is set. A group holds at most TeoMaxGroupRecords records,
// unless it held stored records before (a release without the cap stored
// any number): such a group keeps them and may shrink, but not grow.
func (g *TeoOriginGroup) CheckRecords(allowPrivate bool, stored int) error {
	if len(g.Records) == 0 {
		return invalid("Records", "at least one origin record is required")
	}
	if len(g.Records) > TeoMaxGroupRecords && len(g.Records) > stored {
		return invalid("Records", "%d records; an origin group holds at most %d", len(g.Records), TeoMaxGroupRecords)
	}
	anyWeight, positive := false, false
	for i := range g.Records {
		r := &g.Records[i]
		param := fmt.Sprintf("Records.%d.", i)
		if r.Type == "" {
			r.Type = RecordIPDomain
		}
		switch {
		case r.Type == RecordIPDomain:
		case (r.Type == RecordCOS || r.Type == RecordAWSS3) && g.Type == OriginGroupHTTP:
		default:
			return apierr.New(apierr.Code("InvalidParameter.InvalidOriginType"), "%sType: %q is not allowed in a %s origin group", param, r.Type, g.Type)
		}
		norm, isDomain, err := ParseOrigin(param+"Record", r.Record, true)
		if err != nil {
			return apierr.New(apierr.Code("InvalidParameter.OriginRecordFormatError"), "%s", apierr.From(err).Msg)
		}
		if !allowPrivate && !publicOrigin(norm, isDomain) {
			return apierr.New(apierr.InvalidParameterInvalidOriginIp, "%sRecord: %s is a loopback, private or otherwise non-public address", param, norm)
		}
		if j := slices.IndexFunc(g.Records[:i], func(o TeoOriginRecord) bool { return o.Addr() == norm }); j >= 0 {
			return invalid(param+"Record", "%s is listed twice (also Records.%d); give each origin once", norm, j)
		}
		r.Host, r.IsDomain = norm, isDomain
		if r.Weight != nil {
			if *r.Weight < 0 || *r.Weight > 100 {
				return apierr.New(apierr.Code("InvalidParameter.OriginRecordWeightValue"), "%sWeight: %d is outside 0-100", param, *r.Weight)
			}
			anyWeight, positive = true, positive || *r.Weight > 0
		}
	}
	if anyWeight && !positive {
		return apierr.New(apierr.Code("InvalidParameter.OriginRecordWeightValue"), "Records: at least one origin must have a weight above 0")
	}
	return nil
}

// CheckGivenRecords checks what the records a call gives must be beyond
// CheckRecords, rules a group's stored records may predate: weights on
// every record or on none (EdgeOne's FAQ; those left out took 1 beside the
// others', 1 % beside a 100, a ratio nobody asked for) and the
// PrivateParameters the reference lists.
func (g *TeoOriginGroup) CheckGivenRecords() error {
	with := 0
	for i, r := range g.Records {
		if r.Weight != nil {
			with++
		}
		if err := checkPrivateParameters(fmt.Sprintf("Records.%d.", i), r.PrivateParameters); err != nil {
			return err
		}
	}
	if with > 0 && with < len(g.Records) {
		return apierr.New(apierr.Code("InvalidParameter.OriginRecordWeightValue"), "Records: %d of %d records have a Weight; set one on every record or on none", with, len(g.Records))
	}
	return nil
}

// checkPrivateParameters validates a record's PrivateParameters: the
// names the reference lists, once each, and SignatureVersion v2 or v4.
func checkPrivateParameters(param string, ps [][2]string) error {
	seen := map[string]bool{}
	for i, p := range ps {
		name, value := p[0], p[1]
		at := fmt.Sprintf("%sPrivateParameters.%d.", param, i)
		switch name {
		case "AccessKeyId", "SecretAccessKey", "Region":
		case "SignatureVersion":
			if value != "v2" && value != "v4" {
				return invalid(at+"Value", "SignatureVersion %q is not v2 or v4", value)
			}
		default:
			return invalid(at+"Name", "%q is not AccessKeyId, SecretAccessKey, SignatureVersion or Region", name)
		}
		if seen[name] {
			return invalid(at+"Name", "%s is given twice", name)
		}
		seen[name] = true
	}
	return nil
}

// NewRecordIDs gives every record of a new group a fresh ID. A RecordId
// sent with CreateOriginGroup is ignored: there is no record yet for it
// to name.
func (g *TeoOriginGroup) NewRecordIDs() {
	for i := range g.Records {
		g.Records[i].ID = NewTeoUUID(PrefixTeoRecord)
	}
}

// KeepRecordIDs gives the records that replace old (ModifyOriginGroup)
// their IDs, after CheckRecords. A record sent with a RecordId takes the
// place of that record of old and keeps its ID: it must be one of old's
// and be given once. A record sent without one keeps the ID of old's
// record at the same address unless another record claimed it; the rest
// get fresh IDs. No two records may share an ID: the data plane names a
// group's origin by group and RecordId (a listener naming one twice
// cannot run), and a record's health series is kept under them.
func (g *TeoOriginGroup) KeepRecordIDs(old []TeoOriginRecord) error {
	claimed := map[string]int{} // RecordId -> index in g.Records
	for i, r := range g.Records {
		if r.ID == "" {
			continue
		}
		param := fmt.Sprintf("Records.%d.RecordId", i)
		if !slices.ContainsFunc(old, func(o TeoOriginRecord) bool { return o.ID == r.ID }) {
			return invalid(param, "%s is not a record of origin group %s", r.ID, g.ID)
		}
		if j, dup := claimed[r.ID]; dup {
			return invalid(param, "%s is given twice (also Records.%d)", r.ID, j)
		}
		claimed[r.ID] = i
	}
	for i := range g.Records {
		r := &g.Records[i]
		if r.ID != "" {
			continue
		}
		r.ID = NewTeoUUID(PrefixTeoRecord)
		if j := slices.IndexFunc(old, func(o TeoOriginRecord) bool { return o.Addr() == r.Addr() }); j >= 0 {
			if _, taken := claimed[old[j].ID]; !taken {
				r.ID = old[j].ID
				claimed[r.ID] = i
			}
		}
	}
	return nil
}

// UsableByL4 reports why the group cannot be used by an L4 rule, or "".
func (g *TeoOriginGroup) UsableByL4() string {
	if g.Type != OriginGroupGeneral {
		return fmt.Sprintf("origin group %s is of type %s; L4 proxies can use GENERAL groups only", g.ID, g.Type)
	}
	return ""
}
