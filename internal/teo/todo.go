package teo

// Placeholders until the actions are written; this file is deleted then.

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/teo/teoapi"
)

func (s *Service) CreateL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateL4ProxyRequest) (*teoapi.CreateL4ProxyResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateL4Proxy is not implemented yet")
}

func (s *Service) CreateL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateL4ProxyRulesRequest) (*teoapi.CreateL4ProxyRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateL4ProxyRules is not implemented yet")
}

func (s *Service) CreateOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateOriginGroupRequest) (*teoapi.CreateOriginGroupResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateOriginGroup is not implemented yet")
}

func (s *Service) CreateZone(ctx context.Context, call *cloudapi.Call, req *teoapi.CreateZoneRequest) (*teoapi.CreateZoneResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateZone is not implemented yet")
}

func (s *Service) DeleteL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteL4ProxyRequest) (*teoapi.DeleteL4ProxyResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteL4Proxy is not implemented yet")
}

func (s *Service) DeleteL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteL4ProxyRulesRequest) (*teoapi.DeleteL4ProxyRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteL4ProxyRules is not implemented yet")
}

func (s *Service) DeleteOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteOriginGroupRequest) (*teoapi.DeleteOriginGroupResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteOriginGroup is not implemented yet")
}

func (s *Service) DeleteZone(ctx context.Context, call *cloudapi.Call, req *teoapi.DeleteZoneRequest) (*teoapi.DeleteZoneResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteZone is not implemented yet")
}

func (s *Service) DescribeL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeL4ProxyRequest) (*teoapi.DescribeL4ProxyResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeL4Proxy is not implemented yet")
}

func (s *Service) DescribeL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeL4ProxyRulesRequest) (*teoapi.DescribeL4ProxyRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeL4ProxyRules is not implemented yet")
}

func (s *Service) DescribeOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeOriginGroupRequest) (*teoapi.DescribeOriginGroupResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeOriginGroup is not implemented yet")
}

func (s *Service) DescribeOriginGroupHealthStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeOriginGroupHealthStatusRequest) (*teoapi.DescribeOriginGroupHealthStatusResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeOriginGroupHealthStatus is not implemented yet")
}

func (s *Service) DescribeTimingL4Data(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeTimingL4DataRequest) (*teoapi.DescribeTimingL4DataResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeTimingL4Data is not implemented yet")
}

func (s *Service) DescribeZones(ctx context.Context, call *cloudapi.Call, req *teoapi.DescribeZonesRequest) (*teoapi.DescribeZonesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeZones is not implemented yet")
}

func (s *Service) ModifyL4Proxy(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRequest) (*teoapi.ModifyL4ProxyResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyL4Proxy is not implemented yet")
}

func (s *Service) ModifyL4ProxyRules(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRulesRequest) (*teoapi.ModifyL4ProxyRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyL4ProxyRules is not implemented yet")
}

func (s *Service) ModifyL4ProxyRulesStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyRulesStatusRequest) (*teoapi.ModifyL4ProxyRulesStatusResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyL4ProxyRulesStatus is not implemented yet")
}

func (s *Service) ModifyL4ProxyStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyL4ProxyStatusRequest) (*teoapi.ModifyL4ProxyStatusResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyL4ProxyStatus is not implemented yet")
}

func (s *Service) ModifyOriginGroup(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyOriginGroupRequest) (*teoapi.ModifyOriginGroupResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyOriginGroup is not implemented yet")
}

func (s *Service) ModifyZone(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyZoneRequest) (*teoapi.ModifyZoneResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyZone is not implemented yet")
}

func (s *Service) ModifyZoneStatus(ctx context.Context, call *cloudapi.Call, req *teoapi.ModifyZoneStatusRequest) (*teoapi.ModifyZoneStatusResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyZoneStatus is not implemented yet")
}
