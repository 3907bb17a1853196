package vpc

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// CheckTrafficMirror dry-runs the source and collector checks of a
// PUBLICIP mirror: that the VPC exists, that every collection IP is an
// access IP of the caller's proxies, that the collectors of all
// CollectorTarget entries are valid together (one mirror's), and
// that neither is taken: the sources by another mirror of any type, the
// collectors by another PUBLICIP mirror (TrafficMirrorId, when
// given, is the mirror being changed and does not count; the sources or
// collectors the call leaves out are that mirror's). Success returns
// nothing; a failed check returns the error creating would.
func (s *Service) CheckTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.CheckTrafficMirrorRequest) (*vpcapi.CheckTrafficMirrorResponse, error) {
	probe := &model.TrafficMirror{Type: model.MirrorTypePublicIP, CollectorSrcs: req.CollectorSources}
	if err := checkSubnet(cloudapi.Value(req.SubnetId)); err != nil {
		return nil, err
	}
	if len(req.CollectorTarget) > 0 {
		ins := make([]model.MirrorTargetInput, len(req.CollectorTarget))
		for i := range req.CollectorTarget {
			ins[i] = targetIn(&req.CollectorTarget[i])
		}
		tg, err := model.ParseMirrorTargets(model.MirrorTypePublicIP, ins, s.privateCollectors)
		if err != nil {
			return nil, err
		}
		probe.Target = tg
	}
	err := s.view(ctx, call, func(tx *resource.Tx) (err error) {
		if _, err := getVpc(tx, *req.VpcId); err != nil {
			return err
		}
		if id := cloudapi.Value(req.TrafficMirrorId); id != "" {
			m, err := getMirror(tx, id)
			if err != nil {
				return err
			}
			if m.VpcID != *req.VpcId {
				return apierr.New(apierr.InvalidParameterValueObjectVpcNotCurrentVpc, "traffic mirror %s belongs to VPC %s, not %s", id, m.VpcID, *req.VpcId)
			}
			probe.ID = id
			// A dry run of a change to m: what the call does not name,
			// m keeps, and the checks see it (a collector equal to a kept
			// source is refused, as the change itself would be).
			if len(probe.CollectorSrcs) == 0 {
				probe.CollectorSrcs, probe.Sources = m.CollectorSrcs, m.Sources
			}
			if len(req.CollectorTarget) == 0 {
				probe.Target = m.Target
			}
		}
		if len(probe.Sources) == 0 && len(probe.CollectorSrcs) > 0 {
			if probe.Sources, err = resolveSources(tx, model.MirrorTypePublicIP, "CollectorSources", probe.CollectorSrcs); err != nil {
				return err
			}
		}
		return checkMirror(tx, probe)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.CheckTrafficMirrorResponse{}, nil
}
