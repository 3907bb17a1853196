package vpc

import (
	"strconv"
	"strings"
	"time"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// Caps of the VPC Describe actions (the default page size is
// cloudapi.DefaultLimit).
const (
	maxLimit = 100
	maxIDs   = 100
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
		out[i] = model.Tag{Key: strings.TrimSpace(cloudapi.Value(t.Key)), Value: strings.TrimSpace(cloudapi.Value(t.Value))}
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
	return cloudapi.Paging(offset, limit, maxLimit, apierr.Code("InvalidParameterValue.Range"))
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
