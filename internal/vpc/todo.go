package vpc

// Placeholders until the actions are written; this file is deleted then.

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

func (s *Service) CheckTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.CheckTrafficMirrorRequest) (*vpcapi.CheckTrafficMirrorResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CheckTrafficMirror is not implemented yet")
}

func (s *Service) CreateTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateTrafficMirrorRequest) (*vpcapi.CreateTrafficMirrorResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateTrafficMirror is not implemented yet")
}

func (s *Service) CreateTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateTrafficMirrorFilterRulesRequest) (*vpcapi.CreateTrafficMirrorFilterRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateTrafficMirrorFilterRules is not implemented yet")
}

func (s *Service) CreateVpc(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateVpcRequest) (*vpcapi.CreateVpcResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "CreateVpc is not implemented yet")
}

func (s *Service) DeleteTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteTrafficMirrorRequest) (*vpcapi.DeleteTrafficMirrorResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteTrafficMirror is not implemented yet")
}

func (s *Service) DeleteTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteTrafficMirrorFilterRulesRequest) (*vpcapi.DeleteTrafficMirrorFilterRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteTrafficMirrorFilterRules is not implemented yet")
}

func (s *Service) DeleteVpc(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteVpcRequest) (*vpcapi.DeleteVpcResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DeleteVpc is not implemented yet")
}

func (s *Service) DescribeTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeTrafficMirrorFilterRulesRequest) (*vpcapi.DescribeTrafficMirrorFilterRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeTrafficMirrorFilterRules is not implemented yet")
}

func (s *Service) DescribeTrafficMirrors(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeTrafficMirrorsRequest) (*vpcapi.DescribeTrafficMirrorsResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeTrafficMirrors is not implemented yet")
}

func (s *Service) DescribeVpcs(ctx context.Context, call *cloudapi.Call, req *vpcapi.DescribeVpcsRequest) (*vpcapi.DescribeVpcsResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "DescribeVpcs is not implemented yet")
}

func (s *Service) ModifyTrafficMirrorAttribute(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyTrafficMirrorAttributeRequest) (*vpcapi.ModifyTrafficMirrorAttributeResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyTrafficMirrorAttribute is not implemented yet")
}

func (s *Service) ModifyTrafficMirrorFilterRules(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyTrafficMirrorFilterRulesRequest) (*vpcapi.ModifyTrafficMirrorFilterRulesResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyTrafficMirrorFilterRules is not implemented yet")
}

func (s *Service) ModifyVpcAttribute(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyVpcAttributeRequest) (*vpcapi.ModifyVpcAttributeResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ModifyVpcAttribute is not implemented yet")
}

func (s *Service) ResetTrafficMirrorFilter(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorFilterRequest) (*vpcapi.ResetTrafficMirrorFilterResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ResetTrafficMirrorFilter is not implemented yet")
}

func (s *Service) ResetTrafficMirrorSrcs(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorSrcsRequest) (*vpcapi.ResetTrafficMirrorSrcsResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ResetTrafficMirrorSrcs is not implemented yet")
}

func (s *Service) ResetTrafficMirrorTarget(ctx context.Context, call *cloudapi.Call, req *vpcapi.ResetTrafficMirrorTargetRequest) (*vpcapi.ResetTrafficMirrorTargetResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "ResetTrafficMirrorTarget is not implemented yet")
}

func (s *Service) StartTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.StartTrafficMirrorRequest) (*vpcapi.StartTrafficMirrorResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "StartTrafficMirror is not implemented yet")
}

func (s *Service) StopTrafficMirror(ctx context.Context, call *cloudapi.Call, req *vpcapi.StopTrafficMirrorRequest) (*vpcapi.StopTrafficMirrorResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "StopTrafficMirror is not implemented yet")
}

func (s *Service) UpdateTrafficMirrorAllFilter(ctx context.Context, call *cloudapi.Call, req *vpcapi.UpdateTrafficMirrorAllFilterRequest) (*vpcapi.UpdateTrafficMirrorAllFilterResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "UpdateTrafficMirrorAllFilter is not implemented yet")
}

func (s *Service) UpdateTrafficMirrorDirection(ctx context.Context, call *cloudapi.Call, req *vpcapi.UpdateTrafficMirrorDirectionRequest) (*vpcapi.UpdateTrafficMirrorDirectionResponse, error) {
	return nil, apierr.New(apierr.UnsupportedOperation, "UpdateTrafficMirrorDirection is not implemented yet")
}
