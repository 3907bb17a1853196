package model

import (
	"fmt"
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

// TeoOriginRecord is one origin of a group. For the data plane: Record is
// an IP literal or (IsDomain) a name to resolve; Weight is the wrr weight
// (nil: no weight set, treat as equal weights; 0: no traffic).
type TeoOriginRecord struct {
	ID       string `json:"id"`
	Record   string `json:"record"`
	Type     string `json:"type"`
	IsDomain bool   `json:"isDomain,omitempty"`
	Weight   *int64 `json:"weight,omitempty"`
	Private  bool   `json:"private,omitempty"`
	// PrivateParameters of COS/AWS_S3 records are kept for Describe.
	PrivateParameters [][2]string `json:"privateParameters,omitempty"`
}

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

// CheckRecords validates the records of a group of type typ, normalizes
// their addresses and gives new records IDs. GENERAL groups take IP and
// domain records only; weights are 0-100 and at least one must be above 0
// when any is set.
func (g *TeoOriginGroup) CheckRecords(allowPrivate bool) error {
	if len(g.Records) == 0 {
		return invalid("Records", "at least one origin record is required")
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
		r.Record, r.IsDomain = norm, isDomain
		if r.Weight != nil {
			if *r.Weight < 0 || *r.Weight > 100 {
				return apierr.New(apierr.Code("InvalidParameter.OriginRecordWeightValue"), "%sWeight: %d is outside 0-100", param, *r.Weight)
			}
			anyWeight, positive = true, positive || *r.Weight > 0
		}
		if r.ID == "" {
			r.ID = NewTeoUUID(PrefixTeoRecord)
		}
	}
	if anyWeight && !positive {
		return apierr.New(apierr.Code("InvalidParameter.OriginRecordWeightValue"), "Records: at least one origin must have a weight above 0")
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
