package vpc

import (
	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// checkID refuses an ID that cannot be one of prefix's kind with
// InvalidParameterValue.Malformed. It is the one shape check of VPC and
// traffic-mirror IDs, for the list filters (VpcIds, TrafficMirrorIds) and
// for the actions taking one ID alike, so that a malformed ID gets the same
// code whichever action it is sent to, and only a well-formed unknown ID is
// ResourceNotFound. Of the VPC actions' error lists only CreateTrafficMirror's
// is filled in, and it names Malformed; the others list no code at all.
func checkID(param, prefix, id string) error {
	if !model.WellFormedID(prefix, id) {
		return apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not shaped like an ID of its kind: %s- and 8 lower-case letters or digits", param, id, prefix)
	}
	return nil
}

// getVpc loads the VPC a request's VpcId names, after its shape check.
func getVpc(tx *resource.Tx, id string) (*model.Vpc, error) {
	if err := checkID("VpcId", model.PrefixVpc, id); err != nil {
		return nil, err
	}
	return resource.Get[model.Vpc](tx, id)
}

// getMirror loads the traffic mirror a request's TrafficMirrorId names,
// after its shape check.
func getMirror(tx *resource.Tx, id string) (*model.TrafficMirror, error) {
	if err := checkID("TrafficMirrorId", model.PrefixTrafficMirror, id); err != nil {
		return nil, err
	}
	return resource.Get[model.TrafficMirror](tx, id)
}
