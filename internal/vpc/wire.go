package vpc

import (
	"strconv"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// Paging defaults and caps of the VPC Describe actions.
const (
	defaultLimit = 20
	maxLimit     = 100
	maxIDs       = 100
)

// timeZone is the zone of the API's "2006-01-02 15:04:05" times: Tencent
// reports Beijing time.
var timeZone = time.FixedZone("UTC+8", 8*3600)

func formatTime(unix int64) string {
	return time.Unix(unix, 0).In(timeZone).Format("2006-01-02 15:04:05")
}

func tagsIn(in []vpcapi.Tag) []model.Tag {
	out := make([]model.Tag, len(in))
	for i, t := range in {
		out[i] = model.Tag{Key: cloudapi.Value(t.Key), Value: cloudapi.Value(t.Value)}
	}
	return out
}

func tagsOut(in []model.Tag) []vpcapi.Tag {
	out := make([]vpcapi.Tag, len(in))
	for i, t := range in {
		out[i] = vpcapi.Tag{Key: new(t.Key), Value: new(t.Value)}
	}
	return out
}

// paging applies Offset (default 0) and Limit (default 20, at most 100).
func paging(offset, limit *int64) (int, int, error) {
	o, l := cloudapi.Value(offset), cloudapi.ValueOr(limit, defaultLimit)
	if o < 0 {
		return 0, 0, apierr.New(apierr.InvalidParameterValue, "Offset must not be negative")
	}
	if l < 0 || l > maxLimit {
		return 0, 0, apierr.New(apierr.Code("InvalidParameterValue.Range"), "Limit must be between 0 and %d", maxLimit)
	}
	return int(o), int(l), nil
}

// stringPaging is paging for DescribeVpcs, whose Offset and Limit are
// strings on the wire.
func stringPaging(offset, limit *string) (int, int, error) {
	num := func(name string, v *string) (*int64, error) {
		if v == nil || *v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return nil, apierr.New(apierr.InvalidParameterValueMalformed, "%s %q is not an integer", name, *v)
		}
		return &n, nil
	}
	o, err := num("Offset", offset)
	if err != nil {
		return 0, 0, err
	}
	l, err := num("Limit", limit)
	if err != nil {
		return 0, 0, err
	}
	return paging(o, l)
}
