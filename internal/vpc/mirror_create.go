package vpc

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// CreateTrafficMirror creates a mirror in a VPC: the request is checked
// on its own first, then its sources are resolved and its exclusivity
// checked against the caller's other mirrors.
func (s *Service) CreateTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateTrafficMirrorRequest) (*vpcapi.CreateTrafficMirrorResponse, error) {
	m, err := s.newMirror(req, call.Time.Unix())
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		if _, err := getVpc(tx, m.VpcID); err != nil {
			return err
		}
		siblings, err := resource.Children[model.TrafficMirror](tx, m.VpcID)
		if err != nil {
			return err
		}
		if len(siblings) >= model.MaxMirrorsPerVpc {
			return apierr.New(apierr.LimitExceeded, "a VPC may have at most %d traffic mirrors", model.MaxMirrorsPerVpc)
		}
		if len(m.CollectorSrcs) > 0 {
			if m.Sources, err = resolveSources(tx, m.Type, "CollectorSrcs", m.CollectorSrcs); err != nil {
				return err
			}
		}
		if err := checkMirror(tx, m); err != nil {
			return err
		}
		return tx.Insert(m)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.CreateTrafficMirrorResponse{TrafficMirror: mirrorOut(m)}, nil
}

// newMirror validates everything of a CreateTrafficMirror request that
// needs no store.
func (s *Service) newMirror(req *vpcapi.CreateTrafficMirrorRequest, now int64) (*model.TrafficMirror, error) {
	m := &model.TrafficMirror{Base: model.Base{ID: model.NewID(model.PrefixTrafficMirror), CreateTime: now},
		VpcID: *req.VpcId, Name: *req.TrafficMirrorName, Description: cloudapi.Value(req.TrafficMirrorDescribe),
		CollectorSrcs: req.CollectorSrcs, SubnetID: cloudapi.Value(req.SubnetId), Tags: tagsIn(req.Tags)}
	var err error
	if err = model.ValidateMirrorName(m.Name); err != nil {
		return nil, err
	}
	if err = model.ValidateMirrorDescription("TrafficMirrorDescribe", m.Description); err != nil {
		return nil, err
	}
	if m.Type, err = model.ParseMirrorType(cloudapi.Value(req.Type)); err != nil {
		return nil, err
	}
	if m.State, err = model.ParseMirrorState(m.Type, req.State); err != nil {
		return nil, err
	}
	if m.Direction, err = model.ParseMirrorDirection(m.Type, cloudapi.Value(req.Direction), false); err != nil {
		return nil, err
	}
	if err := setFilters(m, req.NatId, req.CollectorNormalFilters, req.IngressFilterRules, req.EgressFilterRules, now); err != nil {
		return nil, err
	}
	// CollectorSrcs and CollectorTarget are optional (the spec says so):
	// a mirror without them copies nothing until the Reset actions set them.
	m.Target = model.NoMirrorTarget()
	if req.CollectorTarget != nil {
		if m.Target, err = model.ParseMirrorTarget(m.Type, targetIn(req.CollectorTarget), s.privateCollectors); err != nil {
			return nil, err
		}
	}
	if err := checkSubnet(m.SubnetID); err != nil {
		return nil, err
	}
	return m, model.ValidateVpcTags(m.Tags)
}

// setFilters replaces all of m's filters (NAT, five-tuple and rules).
func setFilters(m *model.TrafficMirror, natID *string, normal, ingress, egress []vpcapi.TrafficMirrorFilter, now int64) error {
	if err := checkNat(natID, len(normal)+len(ingress)+len(egress) > 0); err != nil {
		return err
	}
	var err error
	if m.NormalFilters, err = parseNormalFilters(normal); err != nil {
		return err
	}
	if m.IngressRules, err = parseNewRules("IngressFilterRules", ingress, nil, now); err != nil {
		return err
	}
	if m.EgressRules, err = parseNewRules("EgressFilterRules", egress, nil, now); err != nil {
		return err
	}
	return m.CheckMirrorFilters()
}

// checkSubnet accepts a subnet ID in Tencent's shape; opengaap has no
// subnets, so the ID is only echoed.
func checkSubnet(id string) error {
	if id != "" && !strings.HasPrefix(id, "subnet-") {
		return apierr.New(apierr.InvalidParameterValueMalformed, "SubnetId %q is not a subnet ID such as subnet-q304e5h2", id)
	}
	return nil
}

// checkMirror enforces the rules between a mirror's sources, its
// collectors and the caller's other mirrors.
func checkMirror(tx *resource.Tx, m *model.TrafficMirror) error {
	collectors := m.Target.CollectorIPs()
	for _, src := range m.Sources {
		if slices.Contains(collectors, src.IP) {
			return apierr.New(apierr.UnsupportedOperationTrafficMirrorNotSupportSameSrcTarget, "%s is both a collection object and a collector", src.IP)
		}
	}
	others, _, err := resource.List[model.TrafficMirror](tx, store.Query{})
	if err != nil {
		return err
	}
	// Both ways: a deleted listener of m, which another mirror may since
	// collect the proxy of, must not make m's own changes conflict.
	gone := map[string]bool{}
	live := *m
	if live.Sources, err = liveSources(tx, m.Sources, gone); err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == m.ID {
			continue
		}
		if o.Sources, err = liveSources(tx, o.Sources, gone); err != nil {
			return err
		}
		if err := checkExclusive(&live, o); err != nil {
			return err
		}
	}
	return nil
}

// liveSources drops the sources whose listener has been deleted. A mirror
// keeps them, as it keeps those of a deleted proxy, and the data plane
// skips both; but a deleted listener's source copies nothing and must not
// keep its proxy from being mirrored. gone caches the lookups by ID.
func liveSources(tx *resource.Tx, refs []model.MirrorSourceRef, gone map[string]bool) ([]model.MirrorSourceRef, error) {
	out := make([]model.MirrorSourceRef, 0, len(refs))
	for _, r := range refs {
		if r.ListenerID == "" {
			out = append(out, r)
			continue
		}
		g, ok := gone[r.ListenerID]
		if !ok {
			_, err := tx.Store.Get(model.KindListener, r.ListenerID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			g = err != nil
			gone[r.ListenerID] = g
		}
		if !g {
			out = append(out, r)
		}
	}
	return out, nil
}

// checkExclusive: a proxy's traffic belongs to one mirror, whatever the
// types and however the sources name it (the edge copies a flow for one
// mirror only), and a PUBLICIP collector receives for one PUBLICIP mirror.
func checkExclusive(m, o *model.TrafficMirror) error {
	if a, b, ok := m.Overlap(o); ok {
		return overlapError(a, b, m, o)
	}
	if m.Type != model.MirrorTypePublicIP || o.Type != model.MirrorTypePublicIP {
		return nil
	}
	theirs := o.Target.Collectors()
	for _, c := range m.Target.Collectors() {
		if slices.Contains(theirs, c) {
			return apierr.New(apierr.InvalidParameterValueDuplicatedLbTrafficMirrorReciverEndpoint, "collector %s:%d already receives traffic mirror %s", c.IP, c.Port, o.ID)
		}
	}
	return nil
}

// overlapError refuses mirror m, whose source a overlaps o's source b.
func overlapError(a, b model.MirrorSourceRef, m, o *model.TrafficMirror) error {
	switch {
	case m.Type == model.MirrorTypePublicIP && o.Type == model.MirrorTypePublicIP:
		return apierr.New(apierr.InvalidParameterValueDuplicatedLbTrafficMirrorCollectors, "access IP %s is already collected by traffic mirror %s", a.Src, o.ID)
	case a.ProxyID == "":
		return apierr.New(apierr.InvalidParameterValueObjectUseInTrafficMirror, "%s is already collected by traffic mirror %s", a.Src, o.ID)
	}
	return apierr.New(apierr.InvalidParameterValueObjectUseInTrafficMirror, "%s is already collected by traffic mirror %s (its source %s copies proxy %s too)", a.Src, o.ID, b.Src, a.ProxyID)
}
