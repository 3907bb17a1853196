package gaap

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/snapshot"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/vip"
)

// CreateProxy creates a proxy (or clones ClonedProxyId's settings) and
// gives it an access IP. The proxy is CREATING until the data plane has
// it, and so is the call's task.
func (s *Service) CreateProxy(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateProxyRequest) (*gaapapi.CreateProxyResponse, error) {
	tags, err := validTags(call.Action, req.TagSet)
	if err != nil {
		return nil, err
	}
	p := &model.Proxy{
		Base:             model.Base{ID: model.NewID(model.PrefixProxy)},
		Name:             *req.ProxyName,
		ProjectID:        *req.ProjectId,
		AccessRegion:     *req.AccessRegion,
		Bandwidth:        *req.Bandwidth,
		Concurrent:       *req.Concurrent,
		RealServerRegion: cloudapi.Value(req.RealServerRegion), // an ID, as AccessRegion: not trimmed
		GroupID:          trimmed(req.GroupId),
		BillingType:      cloudapi.Value(req.BillingType),
		IPAddressVersion: trimmed(req.IPAddressVersion),
		NetworkType:      trimmed(req.NetworkType),
		PackageType:      trimmed(req.PackageType),
		Status:           model.ProxyCreating,
		Tags:             tags,
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		if err := tx.ClaimToken(cloudapi.Value(req.ClientToken)); err != nil {
			return err
		}
		if p.GroupID != "" {
			if err := joinGroup(tx, p); err != nil {
				return err
			}
		}
		var src *model.Proxy
		if req.ClonedProxyId != nil {
			if src, err = cloneFrom(tx, p, *req.ClonedProxyId, req.BillingType != nil); err != nil {
				return err
			}
		}
		p.IPAddressVersion = cmp.Or(p.IPAddressVersion, "IPv4")
		p.NetworkType = cmp.Or(p.NetworkType, "normal")
		p.PackageType = cmp.Or(p.PackageType, "Thunder")
		if err := banLikeOthers(tx, p); err != nil {
			return err
		}
		if err := model.ValidateNewProxy(p); err != nil {
			return err
		}
		if err := s.checkNewProxy(tx, p); err != nil {
			return err
		}
		if err := s.placeProxy(tx, call.Account, p); err != nil {
			return err
		}
		// A group member serves its group's listeners: their mirrors gain
		// it, and its task waits for them.
		var listeners []*model.Listener
		if p.GroupID != "" {
			if listeners, err = resource.Children[model.Listener](tx, p.GroupID); err != nil {
				return err
			}
		}
		if err := mirrorMember(tx, p, listeners); err != nil {
			return err
		}
		copied, err := cloneConfig(tx, src, p)
		if err != nil {
			return err
		}
		// Clients (the Terraform provider) wait for the proxy (and what a
		// clone copied) with DescribeTaskStatus on this call's RequestId;
		// a new group member also brings up the group's listeners on its
		// address, so the task fails if one cannot run there, as
		// OpenProxies' does, but not if another call deletes one: the
		// proxy runs. One already being deleted is not brought up. The
		// task waits for the member's own instances: another member
		// unable to serve a listener is not this call's doing.
		var brought []string
		for _, l := range listeners {
			if l.Status != model.StatusDeleting {
				brought = append(brought, snapshot.GroupInstanceID(l.ID, p.ID))
			}
		}
		_, err = tx.StartTaskBringing(append([]string{p.ID}, copied...), brought)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateProxyResponse{InstanceId: &p.ID}, nil
}

// poolFor is the pool of access IPs of proxies of IPAddressVersion
// version; nil when this server has none (no --vip-pool-ipv6).
func (s *Service) poolFor(version string) *vip.Pool {
	if version == model.AddrIPv6 {
		return s.vips6
	}
	return s.vips
}

// placeProxy allocates the proxy's access IP, of its IPAddressVersion,
// within the caller's quota and stores it.
func (s *Service) placeProxy(tx *resource.Tx, caller *cloudapi.Account, p *model.Proxy) error {
	pool := s.poolFor(p.IPAddressVersion)
	if pool == nil { // No region offers IPv6 then (New): checkNewProxy refused it.
		return apierr.New(listedCode(tx.Action, apierr.FailedOperationProxySellOut, apierr.FailedOperation), "this server has no IPv6 access IPs (--vip-pool-ipv6)")
	}
	ip, err := pool.Allocate(tx.Store, tx.Account, p.ID, caller.AccessIPQuota)
	switch {
	case errors.Is(err, vip.ErrExhausted):
		return apierr.New(listedCode(tx.Action, apierr.FailedOperationProxySellOut, apierr.FailedOperation), "no access IP is left in the address pool")
	case errors.Is(err, vip.ErrQuota):
		return apierr.Wrap(err, apierr.FailedOperation, "this account holds as many access IPs (proxies) as its quota allows; delete a proxy or ask the operator to raise AccessIPQuota")
	}
	if err != nil {
		return err
	}
	p.IP = ip.String()
	p.Domain = p.ID + "." + s.cfg.DomainSuffix
	p.ModifyConfigTime = tx.Now.Unix()
	return tx.Insert(p)
}

// mirrorMember extends the traffic mirrors of p's group's listeners to p,
// which joins after their sources were set. Two mirrors gaining p on the
// same listener would leave one silently empty (the edge copies a flow
// for one mirror only), so the join is refused instead. The VPC service
// refuses a second mirror of a listener (model.TrafficMirror.Overlap),
// so only mirrors stored before that rule can get here. listeners are
// the group's (none for a proxy outside a group).
func mirrorMember(tx *resource.Tx, p *model.Proxy, listeners []*model.Listener) error {
	if len(listeners) == 0 {
		return nil
	}
	mirrors, _, err := resource.List[model.TrafficMirror](tx, store.Query{})
	if err != nil {
		return err
	}
	var gained []*model.TrafficMirror
	for _, m := range mirrors {
		if !m.AddMember(listeners, p) {
			continue
		}
		if slices.Contains(m.Target.CollectorIPs(), p.IP) {
			// The VPC service refuses a source that is its own collector;
			// the new proxy's address was free when the mirror named it.
			return apierr.New(apierr.FailedOperation, "the new proxy's access IP %s is a collector of traffic mirror %s, which collects a listener of the group; a proxy cannot mirror to itself: reset the mirror's collectors first", p.IP, m.ID)
		}
		for _, o := range gained {
			if a, _, ok := m.Overlap(o); ok {
				return apierr.New(apierr.FailedOperation, "traffic mirrors %s and %s both collect %s, which the new proxy would join; reset the sources of one of them first", o.ID, m.ID, a.Src)
			}
		}
		gained = append(gained, m)
		if err := tx.Put(m); err != nil {
			return err
		}
	}
	return nil
}

// joinGroup checks p against its group and fills in what p takes from it.
// The origin region and the package may be left out (a member's can only
// be its group's); a different one is caught by checkGroupMember. ProjectId is required, so one unlike the group's is a
// mistake to refuse rather than to override: members follow their
// group's project (ModifyProxiesProject refuses them).
func joinGroup(tx *resource.Tx, p *model.Proxy) error {
	g, err := resource.Get[model.ProxyGroup](tx, p.GroupID)
	if err != nil {
		return err
	}
	if p.ProjectID != g.ProjectID {
		return cloudapi.Invalid("ProjectId", "%d is not the project of the proxy group %s (%d), which its proxies follow", p.ProjectID, g.ID, g.ProjectID)
	}
	p.RealServerRegion = cmp.Or(p.RealServerRegion, g.RealServerRegion)
	p.PackageType = cmp.Or(p.PackageType, g.PackageType)
	// The group's tags, as CreateProxyGroup gives its first members (a
	// group and its proxies answer the same tag filters); the call's own
	// value wins for a key both have.
	for _, t := range g.Tags {
		if !slices.ContainsFunc(p.Tags, func(o model.Tag) bool { return o.Key == t.Key }) {
			p.Tags = append(p.Tags, t)
		}
	}
	return model.CheckTagCount(listedCode(tx.Action, apierr.LimitExceededTagQuota, apierr.LimitExceeded), "TagSet with the proxy group's tags", 0, len(p.Tags))
}

func tagsIn(in []gaapapi.TagPair) []model.Tag {
	out := make([]model.Tag, 0, len(in))
	for _, t := range in {
		out = append(out, model.Tag{Key: trimmed(t.TagKey), Value: trimmed(t.TagValue)})
	}
	return out
}

func tagsOut(in []model.Tag) []gaapapi.TagPair {
	out := make([]gaapapi.TagPair, 0, len(in))
	for _, t := range in {
		out = append(out, gaapapi.TagPair{TagKey: new(t.Key), TagValue: new(t.Value)})
	}
	return out
}

// trimmed is an optional string parameter without surrounding white space
// ("" when not sent).
func trimmed(s *string) string { return strings.TrimSpace(cloudapi.Value(s)) }

// WarnIPv4AddressedIPv6 logs the proxies of IPAddressVersion IPv6 that
// hold an IPv4 access IP: releases before --vip-pool-ipv6 gave them one
// from --vip-pool. They keep it and go on serving as before, IPv4 clients
// only (taking a running proxy's address away would cut off its clients);
// a new proxy gets an IPv6 address (docs/api-proxies.md).
func (s *Service) WarnIPv4AddressedIPv6(ctx context.Context) error {
	var ids []string
	err := s.store.View(ctx, func(tx store.Tx) error {
		recs, _, err := tx.List(store.Query{Kind: model.KindProxy, AllAccounts: true})
		for _, r := range recs {
			var p model.Proxy
			if json.Unmarshal(r.Data, &p) != nil {
				continue // The controller logs it; serve must start (docs/controller.md).
			}
			if ip, err := netip.ParseAddr(p.IP); err == nil && ip.Is4() && p.IPAddressVersion == model.AddrIPv6 {
				ids = append(ids, p.ID)
			}
		}
		return err
	})
	if len(ids) > 0 {
		s.log.Warn("IPv6 proxies created with an IPv4 access IP (before --vip-pool-ipv6) keep it and serve IPv4 clients only; recreate them for an IPv6 address",
			"proxies", strings.Join(ids, ","))
	}
	return err
}
