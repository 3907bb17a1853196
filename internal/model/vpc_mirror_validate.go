package model

import (
	"math"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
)

// maxMirrorDescLen bounds a mirror's description and a filter rule's.
const maxMirrorDescLen = 255

// ValidateMirrorName checks a traffic mirror name: 1 to 60 characters.
func ValidateMirrorName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return apierr.New(apierr.InvalidParameterValue, "TrafficMirrorName must not be empty")
	case len([]rune(name)) > MaxMirrorNameLen:
		return apierr.New(apierr.Code("InvalidParameterValue.TooLong"), "TrafficMirrorName must be at most %d characters", MaxMirrorNameLen)
	}
	return nil
}

// ValidateMirrorDescription checks a traffic mirror description; param
// names it as the request does (Create says TrafficMirrorDescribe, Modify
// TrafficMirrorDescription). Every path that writes the description checks
// it, so a stored description can always be written back unchanged.
func ValidateMirrorDescription(param, desc string) error {
	if len([]rune(desc)) > maxMirrorDescLen {
		return apierr.New(apierr.Code("InvalidParameterValue.TooLong"), "%s must be at most %d characters", param, maxMirrorDescLen)
	}
	return nil
}

// ParseMirrorType reads Type: VPC (default) or PUBLICIP.
func ParseMirrorType(v string) (string, error) {
	switch v {
	case "":
		return MirrorTypeVPC, nil
	case MirrorTypeVPC, MirrorTypePublicIP:
		return v, nil
	}
	return "", apierr.New(apierr.InvalidParameterValue, "Type must be VPC or PUBLICIP, not %q", v)
}

// ParseMirrorState reads a creation State: RUNNING or STOPED for VPC
// mirrors, where it is required; RUNNING (the default) for PUBLICIP ones.
func ParseMirrorState(typ string, v *string) (string, error) {
	if v == nil {
		if typ == MirrorTypeVPC {
			return "", apierr.New(apierr.MissingParameter, "State is required for VPC traffic mirrors")
		}
		return MirrorRunning, nil
	}
	switch {
	case *v == MirrorRunning:
		return *v, nil
	case *v == MirrorStopped && typ == MirrorTypeVPC:
		return *v, nil
	case *v == MirrorStopped:
		return "", apierr.New(apierr.InvalidParameterValue, "PUBLICIP traffic mirrors are created RUNNING")
	}
	return "", apierr.New(apierr.InvalidParameterValue, "State must be RUNNING or STOPED, not %q", *v)
}

// ParseMirrorDirection reads a Direction: EGRESS, INGRESS or ALL for VPC
// mirrors, only ALL for PUBLICIP ones. At creation (update false) an
// empty value means ALL, the default. A change (update true:
// UpdateTrafficMirrorDirection, UpdateTrafficMirrorAllFilter) may also
// switch to NO-DIRECTION, and refuses an empty value: the default belongs
// to creation, and a change that silently reset INGRESS or EGRESS to ALL
// would start copying a direction the user never asked for.
func ParseMirrorDirection(typ, v string, update bool) (string, error) {
	switch {
	case v == "" && update:
		return "", apierr.New(apierr.InvalidParameterValue, "Direction must be EGRESS, INGRESS, ALL or NO-DIRECTION")
	case v == "":
		return DirAll, nil
	case typ == MirrorTypePublicIP && v != DirAll:
		return "", apierr.New(apierr.InvalidParameterValue, "PUBLICIP traffic mirrors collect Direction ALL only")
	}
	switch v {
	case DirEgress, DirIngress, DirAll:
		return v, nil
	case DirNoDirection:
		if update {
			return v, nil
		}
	}
	return "", apierr.New(apierr.InvalidParameterValue, "Direction %q is not valid here; use EGRESS, INGRESS or ALL", v)
}

// CheckMirrorFilters enforces that one mirror filters either by
// CollectorNormalFilters or by per-direction filter rules, and that
// NO-DIRECTION mirrors use rules.
func (m *TrafficMirror) CheckMirrorFilters() error {
	hasRules := len(m.IngressRules)+len(m.EgressRules) > 0
	switch {
	case len(m.NormalFilters) > 0 && hasRules:
		return apierr.New(apierr.InvalidParameterCoexist, "CollectorNormalFilters cannot be combined with IngressFilterRules or EgressFilterRules")
	case len(m.NormalFilters) > 0 && m.Direction == DirNoDirection:
		return apierr.New(apierr.InvalidParameterCoexist, "NO-DIRECTION traffic mirrors filter with IngressFilterRules/EgressFilterRules, not CollectorNormalFilters")
	case len(m.NormalFilters) > MaxMirrorFilters:
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d CollectorNormalFilters may be given", MaxMirrorFilters)
	case len(m.IngressRules) > MaxMirrorRules || len(m.EgressRules) > MaxMirrorRules:
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d filter rules per direction may be given", MaxMirrorRules)
	}
	for _, rules := range [][]MirrorFilterRule{m.IngressRules, m.EgressRules} {
		seen := map[int64]bool{}
		for _, r := range rules {
			if seen[r.Priority] {
				return apierr.New(apierr.InvalidParameterValue, "two filter rules of one direction have Priority %d", r.Priority)
			}
			seen[r.Priority] = true
		}
	}
	return nil
}

// FilterRuleInput is a TrafficMirrorFilter used as a filter rule.
type FilterRuleInput struct {
	FiveTupleInput
	Priority            *int64
	Action, Description *string
}

// ParseFilterRule validates one filter rule to be added after others (the
// rules of its direction). A missing Priority is one more than the highest
// of others; a missing Action is ACCEPT.
func ParseFilterRule(path string, in FilterRuleInput, others []MirrorFilterRule) (MirrorFilterRule, error) {
	ft, err := ParseFiveTuple(path, in.FiveTupleInput)
	if err != nil {
		return MirrorFilterRule{}, err
	}
	r := MirrorFilterRule{FiveTuple: ft, Action: MirrorAccept}
	if in.Priority == nil {
		if r.Priority, err = nextRulePriority(path, others); err != nil {
			return r, err
		}
	}
	if err := r.apply(path, in); err != nil {
		return r, err
	}
	return r, nil
}

// ModifyFilterRule applies the given fields of in to r.
func ModifyFilterRule(path string, r MirrorFilterRule, in FilterRuleInput) (MirrorFilterRule, error) {
	keep := func(v *string, cur string) *string {
		if v == nil {
			return &cur
		}
		return v
	}
	src, dst := keep(in.SrcNet, r.SrcNet), keep(in.DstNet, r.DstNet)
	proto := keep(in.Protocol, r.Protocol)
	sp, dp := keep(in.SrcPort, r.SrcPort.String()), keep(in.DstPort, r.DstPort.String())
	ft, err := ParseFiveTuple(path, FiveTupleInput{src, dst, proto, sp, dp})
	if err != nil {
		return r, err
	}
	r.FiveTuple = ft
	return r, r.apply(path, in)
}

// apply sets Priority, Action and Description when given.
func (r *MirrorFilterRule) apply(path string, in FilterRuleInput) error {
	if in.Priority != nil {
		if *in.Priority < 1 {
			return apierr.New(apierr.InvalidParameterValue, "%s.Priority must be at least 1", path)
		}
		r.Priority = *in.Priority
	}
	if in.Action != nil {
		a, err := parseMirrorAction(path, in.Action)
		if err != nil {
			return err
		}
		r.Action = a
	}
	if in.Description != nil {
		if err := ValidateMirrorDescription(path+".Description", *in.Description); err != nil {
			return err
		}
		r.Description = *in.Description
	}
	return nil
}

// parseMirrorAction reads an Action in any case; absent is ACCEPT.
func parseMirrorAction(path string, v *string) (string, error) {
	if v == nil {
		return MirrorAccept, nil
	}
	switch a := strings.ToUpper(*v); a {
	case MirrorAccept, MirrorDrop:
		return a, nil
	}
	return "", apierr.New(apierr.InvalidParameterValue, "%s.Action must be ACCEPT or DROP, not %q", path, *v)
}

// nextRulePriority is one more than the highest priority in rules (1 for
// none). When the highest is already the largest Priority there is no
// "after" left: refusing beats wrapping to a negative priority, which
// would sort the rule before every other.
func nextRulePriority(path string, rules []MirrorFilterRule) (int64, error) {
	var hi int64
	for _, r := range rules {
		hi = max(hi, r.Priority)
	}
	if hi == math.MaxInt64 {
		return 0, apierr.New(apierr.InvalidParameterValueLimitExceeded, "%s.Priority: no priority above the highest, %d, is left; give Priority", path, hi)
	}
	return hi + 1, nil
}
