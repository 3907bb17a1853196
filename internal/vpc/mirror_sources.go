package vpc

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// resolveSources turns the sources the parameter param lists
// (CollectorSrcs; CheckTrafficMirror's CollectorSources) into the proxies
// and access IPs a mirror copies. PUBLICIP mirrors name access IPs of the
// caller's proxies (GAAP proxies, teo L4 proxies: any kind implementing
// model.MirrorSource); VPC mirrors name proxies or listeners by ID.
func resolveSources(tx *resource.Tx, typ, param string, srcs []string) ([]model.MirrorSourceRef, error) {
	if err := checkSourceList(param, srcs); err != nil {
		return nil, err
	}
	var out []model.MirrorSourceRef
	var byIP map[string]model.MirrorSourceRef // access IPs, listed once per call
	for i, src := range srcs {
		var refs []model.MirrorSourceRef
		var err error
		if typ == model.MirrorTypePublicIP {
			if byIP == nil {
				if byIP, err = accessIPs(tx); err != nil {
					return nil, err
				}
			}
			refs, err = resolveIP(byIP, param, i, src)
		} else {
			refs, err = resolveID(tx, param, i, src)
		}
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			// The edge copies IPv4 flows only (VXLAN to an IPv4 collector):
			// accepted, such a mirror would read RUNNING and copy nothing.
			if a, err := netip.ParseAddr(r.IP); err == nil && !a.Unmap().Is4() {
				return nil, apierr.New(apierr.UnsupportedOperationIpv6NotSupport,
					"%s.%d %s: proxy %s has the IPv6 access IP %s; traffic mirroring copies IPv4 traffic only", param, i, src, r.ProxyID, r.IP)
			}
		}
		out = append(out, refs...)
	}
	return out, nil
}

func checkSourceList(param string, srcs []string) error {
	switch {
	case len(srcs) == 0:
		return apierr.New(apierr.MissingParameter, "%s must name at least one collection object", param)
	case len(srcs) > model.MaxMirrorSources:
		return apierr.New(apierr.InvalidParameterValueLimitExceeded, "at most %d %s may be given", model.MaxMirrorSources, param)
	}
	for i, s := range srcs {
		if slices.Index(srcs, s) != i {
			return apierr.New(apierr.InvalidParameterValue, "%s names %s twice", param, s)
		}
	}
	return nil
}

// accessIPs maps each access IP of the caller's mirror-source proxies to
// the first proxy (in kind order, then list order) answering on it.
func accessIPs(tx *resource.Tx) (map[string]model.MirrorSourceRef, error) {
	byIP := map[string]model.MirrorSourceRef{}
	for _, k := range model.MirrorSourceKinds() {
		objs, err := listKind(tx, k)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			for _, ip := range o.MirrorIPs() {
				if _, ok := byIP[ip]; !ok {
					byIP[ip] = model.MirrorSourceRef{Kind: k.Name, ProxyID: o.Meta().ID, IP: ip}
				}
			}
		}
	}
	return byIP, nil
}

// resolveIP finds the proxy answering on an access IP.
func resolveIP(byIP map[string]model.MirrorSourceRef, param string, i int, src string) ([]model.MirrorSourceRef, error) {
	a, err := netip.ParseAddr(src)
	if err != nil {
		return nil, apierr.New(apierr.InvalidParameterValueMalformed, "%s.%d %q is not an IP address; PUBLICIP traffic mirrors collect access IPs", param, i, src)
	}
	ref, ok := byIP[a.String()]
	if !ok {
		return nil, apierr.New(apierr.ResourceNotFound, "no proxy of this account has the access IP %s", src)
	}
	ref.Src = src
	return []model.MirrorSourceRef{ref}, nil
}

// resolveID finds a proxy (of any mirror-source kind) or a GAAP listener.
func resolveID(tx *resource.Tx, param string, i int, src string) ([]model.MirrorSourceRef, error) {
	if _, err := netip.ParseAddr(src); err == nil {
		return nil, apierr.New(apierr.InvalidParameterValue, "%s.%d %s is an IP address; VPC traffic mirrors collect proxies or listeners by ID (use Type PUBLICIP for access IPs)", param, i, src)
	}
	if strings.HasPrefix(src, model.PrefixListener+"-") {
		return resolveListener(tx, src)
	}
	for _, k := range model.MirrorSourceKinds() {
		o, err := getKind(tx, k, src)
		if err != nil {
			return nil, err
		}
		if o != nil {
			return model.SourceRefs(src, k.Name, "", o), nil
		}
	}
	return nil, apierr.New(apierr.ResourceNotFound, "the collection object %s does not exist; give a proxy or listener ID", src)
}

// resolveListener mirrors a listener's port on its proxy, or on every
// proxy of its group (and on later members: model.TrafficMirror.AddMember).
func resolveListener(tx *resource.Tx, src string) ([]model.MirrorSourceRef, error) {
	l, err := resource.Get[model.Listener](tx, src)
	if err != nil {
		return nil, err
	}
	var proxies []*model.Proxy
	if l.ProxyID != "" {
		p, err := resource.Get[model.Proxy](tx, l.ProxyID)
		if err != nil {
			return nil, err
		}
		proxies = []*model.Proxy{p}
	} else if proxies, err = resource.Children[model.Proxy](tx, l.GroupID); err != nil {
		return nil, err
	}
	var out []model.MirrorSourceRef
	for _, p := range proxies {
		out = append(out, model.ListenerSourceRefs(src, l, p)...)
	}
	return out, nil
}

// getKind loads the caller's object of kind k with id; nil when absent
// or another account's.
func getKind(tx *resource.Tx, k model.KindInfo, id string) (model.MirrorSource, error) {
	rec, err := tx.Store.Get(k.Name, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.Account != tx.Account) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeSource(k, rec)
}

// listKind lists the caller's objects of kind k.
func listKind(tx *resource.Tx, k model.KindInfo) ([]model.MirrorSource, error) {
	recs, _, err := tx.Store.List(store.Query{Kind: k.Name, Account: tx.Account})
	if err != nil {
		return nil, err
	}
	out := make([]model.MirrorSource, 0, len(recs))
	for _, rec := range recs {
		o, err := decodeSource(k, rec)
		if err != nil {
			continue // Left out, as resource.List leaves it out.
		}
		out = append(out, o)
	}
	return out, nil
}

func decodeSource(k model.KindInfo, rec store.Record) (model.MirrorSource, error) {
	o := k.New()
	if err := json.Unmarshal(rec.Data, o); err != nil {
		return nil, resource.Unreadable(rec, err)
	}
	return o.(model.MirrorSource), nil
}
