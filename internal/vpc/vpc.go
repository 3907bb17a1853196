package vpc

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/vpc/vpcapi"
)

// CreateVpc creates a VPC after checking its CIDR, name, DNS servers,
// domain name, tags and the account's VPC quota.
func (s *Service) CreateVpc(ctx context.Context, call *cloudapi.Call, req *vpcapi.CreateVpcRequest) (*vpcapi.CreateVpcResponse, error) {
	v, err := newVpc(req)
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		n, err := resource.Count[model.Vpc](tx)
		if err != nil {
			return err
		}
		if n >= model.MaxVpcs {
			return apierr.New(apierr.LimitExceeded, "an account may have at most %d VPCs", model.MaxVpcs)
		}
		return tx.Insert(v)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.CreateVpcResponse{Vpc: vpcOut(v)}, nil
}

func newVpc(req *vpcapi.CreateVpcRequest) (*model.Vpc, error) {
	if err := model.ValidateVpcName(*req.VpcName); err != nil {
		return nil, err
	}
	cidr, err := model.ValidateVpcCidr(*req.CidrBlock)
	if err != nil {
		return nil, err
	}
	if err := model.ValidateVpcDomainName(cloudapi.Value(req.DomainName)); err != nil {
		return nil, err
	}
	v := &model.Vpc{Base: model.Base{ID: model.NewID(model.PrefixVpc)}, Name: *req.VpcName, CidrBlock: cidr,
		DNSServers: model.DefaultDNSServers, DomainName: cloudapi.Value(req.DomainName), Tags: tagsIn(req.Tags),
		RouteVpcPublish: cloudapi.Value(req.EnableRouteVpcPublish), RouteVpcPublishIpv6: cloudapi.Value(req.EnableRouteVpcPublishIpv6)}
	if req.EnableMulticast != nil {
		if v.EnableMulticast, err = model.ParseBoolString("EnableMulticast", *req.EnableMulticast); err != nil {
			return nil, err
		}
	}
	if req.DnsServers != nil {
		if err := model.ValidateDNSServers(req.DnsServers); err != nil {
			return nil, err
		}
		v.DNSServers = req.DnsServers
	}
	return v, model.ValidateVpcTags(v.Tags)
}

// ModifyVpcAttribute changes the given attributes of a VPC.
func (s *Service) ModifyVpcAttribute(ctx context.Context, call *cloudapi.Call, req *vpcapi.ModifyVpcAttributeRequest) (*vpcapi.ModifyVpcAttributeResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		v, err := getVpc(tx, *req.VpcId)
		if err != nil {
			return err
		}
		if err := modifyVpc(v, req); err != nil {
			return err
		}
		return tx.Put(v)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.ModifyVpcAttributeResponse{}, nil
}

func modifyVpc(v *model.Vpc, req *vpcapi.ModifyVpcAttributeRequest) (err error) {
	if req.VpcName != nil {
		if err := model.ValidateVpcName(*req.VpcName); err != nil {
			return err
		}
		v.Name = *req.VpcName
	}
	if req.EnableMulticast != nil {
		if v.EnableMulticast, err = model.ParseBoolString("EnableMulticast", *req.EnableMulticast); err != nil {
			return err
		}
	}
	if req.DnsServers != nil {
		if err := model.ValidateDNSServers(req.DnsServers); err != nil {
			return err
		}
		v.DNSServers = req.DnsServers
	}
	if req.DomainName != nil {
		if err := model.ValidateVpcDomainName(*req.DomainName); err != nil {
			return err
		}
		v.DomainName = *req.DomainName
	}
	v.RouteVpcPublish = cloudapi.ValueOr(req.EnableRouteVpcPublish, v.RouteVpcPublish)
	v.RouteVpcPublishIpv6 = cloudapi.ValueOr(req.EnableRouteVpcPublishIpv6, v.RouteVpcPublishIpv6)
	v.CdcPublish = cloudapi.ValueOr(req.EnableCdcPublish, v.CdcPublish)
	return nil
}

// DeleteVpc deletes a VPC that no traffic mirror uses.
func (s *Service) DeleteVpc(ctx context.Context, call *cloudapi.Call, req *vpcapi.DeleteVpcRequest) (*vpcapi.DeleteVpcResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		v, err := getVpc(tx, *req.VpcId)
		if err != nil {
			return err
		}
		mirrors, err := resource.Children[model.TrafficMirror](tx, v.ID)
		if err != nil {
			return err
		}
		if len(mirrors) > 0 {
			return apierr.New(apierr.ResourceInUse, "VPC %s still has traffic mirror %s; delete its traffic mirrors first", v.ID, mirrors[0].ID)
		}
		return tx.Delete(v)
	})
	if err != nil {
		return nil, err
	}
	return &vpcapi.DeleteVpcResponse{}, nil
}

// vpcOut renders a VPC. opengaap VPCs have no IPv6 CIDR, assistant CIDRs
// or DHCP option sets; DHCP is always on, as on Tencent Cloud.
func vpcOut(v *model.Vpc) *vpcapi.Vpc {
	return &vpcapi.Vpc{
		VpcName: new(v.Name), VpcId: new(v.ID), CidrBlock: new(v.CidrBlock), IsDefault: new(v.IsDefault),
		EnableMulticast: new(v.EnableMulticast), CreatedTime: new(formatTime(v.CreateTime)),
		DnsServerSet: append([]string{}, v.DNSServers...), DomainName: new(v.DomainName), DhcpOptionsId: new(""),
		EnableDhcp: new(true), Ipv6CidrBlock: new(""), TagSet: tagsOut(v.Tags), AssistantCidrSet: []vpcapi.AssistantCidr{},
		EnableRouteVpcPublish: new(v.RouteVpcPublish), Ipv6CidrBlockSet: []vpcapi.ISPIPv6CidrBlock{},
		EnableRouteVpcPublishIpv6: new(v.RouteVpcPublishIpv6),
	}
}
