package gaap

import (
	"context"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// listenerQuery is the filter set shared by the four Describe*Listeners.
type listenerQuery struct {
	protocol                                        string
	proxyID, groupID, listenerID, name, searchValue *string
	port, offset, limit, http3                      *int64
}

// check applies the documented combination rules; action picks the code
// for parameters that exclude each other (conflictCode). SearchValue
// excludes ListenerName and Port in the references of the HTTP, TCP and
// UDP listings, not in DescribeHTTPSListeners', which ANDs them all.
func (q listenerQuery) check(action string) error {
	p, g, l := trimmed(q.proxyID), trimmed(q.groupID), trimmed(q.listenerID)
	switch {
	case p == "" && g == "" && l == "":
		return apierr.New(apierr.InvalidParameter, "give at least one of ListenerId, ProxyId and GroupId")
	case p != "" && g != "":
		return apierr.New(conflictCode(action), "give ProxyId or GroupId, not both")
	case q.protocol != model.HTTPS && trimmed(q.searchValue) != "" && (q.name != nil || q.port != nil):
		// An empty SearchValue is no search (matches), so it excludes nothing.
		return apierr.New(conflictCode(action), "SearchValue cannot be combined with ListenerName or Port")
	case q.http3 != nil && *q.http3 != 0 && *q.http3 != 1:
		return cloudapi.Invalid("Http3Supported", "%d is not 0 (HTTP/3 off) or 1 (on)", *q.http3)
	}
	return nil
}

// matches reports whether l passes the filters.
func (q listenerQuery) matches(l *model.Listener) bool {
	switch {
	case l.Protocol != q.protocol:
		return false
	case q.listenerID != nil && trimmed(q.listenerID) != "" && l.ID != trimmed(q.listenerID):
		return false
	case q.name != nil && l.Name != *q.name:
		return false
	case q.port != nil && l.Port != *q.port:
		return false
	case q.http3 != nil && l.Http3Supported != *q.http3:
		return false
	}
	if sv := trimmed(q.searchValue); sv != "" {
		return strings.Contains(l.Name, sv) || strings.Contains(strconv.FormatInt(l.Port, 10), sv)
	}
	return true
}

// describeListeners runs q and calls out, in the same read transaction,
// with the page of listeners; it returns the total before paging. An
// unknown ProxyId or GroupId is ResourceNotFound; a ListenerId that does
// not exist or belongs elsewhere simply matches nothing.
func (s *Service) describeListeners(ctx context.Context, call *cloudapi.Call, q listenerQuery, out func(*resource.Tx, []*model.Listener) error) (int64, error) {
	if err := q.check(call.Action); err != nil {
		return 0, err
	}
	offset, limit, err := paging(q.offset, q.limit, 0)
	if err != nil {
		return 0, err
	}
	var total int
	err = s.view(ctx, call, func(tx *resource.Tx) error {
		var sq store.Query
		if p, g := trimmed(q.proxyID), trimmed(q.groupID); p != "" || g != "" {
			o, err := ownerByID(tx, p, g)
			if err != nil {
				return err
			}
			// The HTTP(S) listings list NotSupportProxyGroup for a group's
			// proxy; the TCP/UDP ones list no such code, and a member has no
			// listeners of its own, so they answer an empty list (clients
			// that walk DescribeProxies listing each proxy's listeners).
			if memberCode(call.Action) == apierr.FailedOperationNotSupportProxyGroup {
				if err := o.refuseMember(call.Action); err != nil {
					return err
				}
			}
			sq.Parent = o.id()
		} else {
			sq.IDs = []string{trimmed(q.listenerID)}
		}
		all, _, err := resource.List[model.Listener](tx, sq)
		if err != nil {
			return err
		}
		var hits []*model.Listener
		for _, l := range all {
			// A listener the data plane cannot serve (port taken after
			// a restart or a reopen) reads as still coming up, as one
			// whose first bind failed does; the next applies retry it.
			l.Status = shown(s, l.Status, model.StatusRunning, model.StatusCreating, l.ID)
			if q.matches(l) {
				hits = append(hits, l)
			}
		}
		total = len(hits)
		return out(tx, resource.Window(hits, offset, limit))
	})
	return int64(total), err
}

// DescribeTCPListeners lists TCP listeners with their bound origins.
func (s *Service) DescribeTCPListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeTCPListenersRequest) (*gaapapi.DescribeTCPListenersResponse, error) {
	q := listenerQuery{protocol: model.TCP, proxyID: req.ProxyId, groupID: req.GroupId, listenerID: req.ListenerId,
		name: req.ListenerName, searchValue: req.SearchValue, port: req.Port, offset: req.Offset, limit: req.Limit}
	set, total, err := describeL4(ctx, s, call, q, tcpListenerOut)
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeTCPListenersResponse{ListenerSet: set, TotalCount: total}, nil
}

// DescribeUDPListeners lists UDP listeners with their bound origins.
func (s *Service) DescribeUDPListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeUDPListenersRequest) (*gaapapi.DescribeUDPListenersResponse, error) {
	q := listenerQuery{protocol: model.UDP, proxyID: req.ProxyId, groupID: req.GroupId, listenerID: req.ListenerId,
		name: req.ListenerName, searchValue: req.SearchValue, port: req.Port, offset: req.Offset, limit: req.Limit}
	set, total, err := describeL4(ctx, s, call, q, udpListenerOut)
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeUDPListenersResponse{ListenerSet: set, TotalCount: total}, nil
}

// describeL4 lists the layer-4 listeners q selects, each converted with
// its bound origins.
func describeL4[T any](ctx context.Context, s *Service, call *cloudapi.Call, q listenerQuery, conv func(*model.Listener, []gaapapi.BindRealServer) T) ([]T, *int64, error) {
	out := []T{}
	total, err := s.describeListeners(ctx, call, q, func(tx *resource.Tx, ls []*model.Listener) error {
		bss := make([][]model.Bound, len(ls))
		for i, l := range ls {
			bss[i] = l.Bindings
		}
		addrs, err := originAddrs(tx, bss...)
		if err != nil {
			return err
		}
		for _, l := range ls {
			out = append(out, conv(l, s.boundWith(addrs, l.ID, l.Bindings)))
		}
		return nil
	})
	return out, &total, err
}

// DescribeHTTPListeners lists HTTP listeners.
func (s *Service) DescribeHTTPListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeHTTPListenersRequest) (*gaapapi.DescribeHTTPListenersResponse, error) {
	resp := &gaapapi.DescribeHTTPListenersResponse{ListenerSet: []gaapapi.HTTPListener{}}
	q := listenerQuery{protocol: model.HTTP, proxyID: req.ProxyId, groupID: req.GroupId, listenerID: req.ListenerId,
		name: req.ListenerName, searchValue: req.SearchValue, port: req.Port, offset: req.Offset, limit: req.Limit}
	total, err := s.describeListeners(ctx, call, q, func(_ *resource.Tx, ls []*model.Listener) error {
		for _, l := range ls {
			resp.ListenerSet = append(resp.ListenerSet, gaapapi.HTTPListener{
				ListenerId: new(l.ID), ListenerName: new(l.Name), Port: new(l.Port), CreateTime: new(l.CreateTime),
				Protocol: new(l.Protocol), ListenerStatus: new(l.Status), ProxyId: optional(l.ProxyID), GroupId: optional(l.GroupID),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.TotalCount = &total
	return resp, nil
}

// DescribeHTTPSListeners lists HTTPS listeners with certificate aliases.
func (s *Service) DescribeHTTPSListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeHTTPSListenersRequest) (*gaapapi.DescribeHTTPSListenersResponse, error) {
	resp := &gaapapi.DescribeHTTPSListenersResponse{ListenerSet: []gaapapi.HTTPSListener{}}
	q := listenerQuery{protocol: model.HTTPS, proxyID: req.ProxyId, groupID: req.GroupId, listenerID: req.ListenerId,
		name: req.ListenerName, searchValue: req.SearchValue, port: req.Port, offset: req.Offset, limit: req.Limit,
		http3: req.Http3Supported}
	total, err := s.describeListeners(ctx, call, q, func(tx *resource.Tx, ls []*model.Listener) error {
		var ids []string
		for _, l := range ls {
			ids = append(append(ids, l.CertificateID), l.ClientCertificateIDs...)
		}
		names, err := certificateNames(tx, ids)
		if err != nil {
			return err
		}
		for _, l := range ls {
			resp.ListenerSet = append(resp.ListenerSet, httpsListenerOut(l, names))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.TotalCount = &total
	return resp, nil
}
