package gaap

import (
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// owner is the proxy or the proxy group a listener belongs to; exactly
// one of the fields is set.
type owner struct {
	proxy *model.Proxy
	group *model.ProxyGroup
}

// loadOwner resolves the ProxyId/GroupId pair of a listener call: exactly
// one must be given.
func loadOwner(tx *resource.Tx, proxyID, groupID *string) (owner, error) {
	p, g := trimmed(proxyID), trimmed(groupID)
	switch {
	case p != "" && g != "":
		return owner{}, apierr.New(conflictCode(tx.Action), "give ProxyId or GroupId, not both")
	case p == "" && g == "":
		return owner{}, apierr.New(apierr.InvalidParameter, "one of ProxyId and GroupId is required")
	}
	return ownerByID(tx, p, g)
}

// ownerByID loads the proxy p or, when p is empty, the group g.
func ownerByID(tx *resource.Tx, p, g string) (owner, error) {
	if p != "" {
		proxy, err := resource.Get[model.Proxy](tx, p)
		return owner{proxy: proxy}, err
	}
	group, err := resource.Get[model.ProxyGroup](tx, g)
	return owner{group: group}, err
}

// ownerOf loads the proxy or group of l.
func ownerOf(tx *resource.Tx, l *model.Listener) (owner, error) {
	return ownerByID(tx, l.ProxyID, l.GroupID)
}

func (o owner) id() string {
	if o.proxy != nil {
		return o.proxy.ID
	}
	return o.group.ID
}

func (o owner) project() int64 {
	if o.proxy != nil {
		return o.proxy.ProjectID
	}
	return o.group.ProjectID
}

func (o owner) ipVersion() string {
	if o.proxy != nil {
		return o.proxy.IPAddressVersion
	}
	return o.group.IPAddressVersion
}

// checkTOA refuses TOA (ClientIPMethod 0) on an IPv6 proxy or group: TOA
// has room for an IPv4 client address only, so their clients would reach
// origins as the proxy's address, which the API refuses rather than
// accepts wherever TOA cannot be written (model.CheckClientIPMethod).
func (o owner) checkTOA(method *int64) error {
	if method != nil && *method == model.ClientIPTOA && o.ipVersion() == model.AddrIPv6 {
		return cloudapi.Invalid("ClientIPMethod", "0 (TOA) carries IPv4 client addresses only, and %s is IPv6; use 1 (Proxy Protocol)", o.id())
	}
	return nil
}

// assign makes l a listener of o.
func (o owner) assign(l *model.Listener) {
	if o.proxy != nil {
		l.ProxyID = o.proxy.ID
	} else {
		l.GroupID = o.group.ID
	}
}

// checkRunning refuses changes under a proxy or group that is not running,
// with the code the call's action documents (notRunningCode).
func (o owner) checkRunning(tx *resource.Tx) error {
	if o.proxy != nil && !o.proxy.Operable() {
		return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationProxyStatusNotInRuning),
			"the proxy %s is %s; listeners can be changed only while it is RUNNING", o.proxy.ID, o.proxy.Status)
	}
	if o.group != nil {
		return groupRunning(tx, o.group)
	}
	return nil
}

// groupRunning refuses (notRunningCode) changes under a group that does not
// read RUNNING as the API reports it (ProxyGroup.State): being created or
// destroyed, or CLOSED (all its proxies closed), as an independent proxy
// that is not RUNNING refuses them (Proxy.Operable). CHANGING (a member in
// a transition: being created, scaled, closed or destroyed) does not
// refuse: the group's configuration runs on whichever members run, and
// clients such as the Terraform provider create a group's members and its
// listeners at the same time.
func groupRunning(tx *resource.Tx, g *model.ProxyGroup) error {
	proxies, err := resource.Children[model.Proxy](tx, g.ID)
	if err != nil {
		return err
	}
	if st, name := g.State(proxies); st != model.GroupRunning && st != model.GroupChanging {
		return apierr.New(notRunningCode(tx.Action, apierr.FailedOperationGroupStatusNotInRuning), "the proxy group %s is %s (status %d); its configuration can be changed only while it is RUNNING", g.ID, name, st)
	}
	return nil
}

// checkNewListeners refuses new listeners on a proxy that belongs to a
// group (its listeners are the group's; memberCode of action), beyond the
// quota, or on ports its transport already uses. Listeners being deleted
// still hold their port.
func (o owner) checkNewListeners(tx *resource.Tx, action string, fresh []*model.Listener) error {
	if err := o.refuseMember(action); err != nil {
		return err
	}
	existing, err := resource.Children[model.Listener](tx, o.id())
	if err != nil {
		return err
	}
	if n := len(existing) + len(fresh); n > model.MaxListenersPerOwner {
		return apierr.New(apierr.FailedOperationLimitNumofListener, "%s would have %d listeners; at most %d are allowed", o.id(), n, model.MaxListenersPerOwner)
	}
	all := append(existing, fresh...)
	for i, l := range fresh {
		if other := portClash(all[:len(existing)+i], l); other != nil {
			return apierr.New(apierr.InvalidParameterValueDuplicatedListenerPort,
				"port %d is already used by the %s listener %s on %s", l.Port, other.Protocol, other.ID, o.id())
		}
	}
	return nil
}

// refuseMember refuses (memberCode of action) a ProxyId naming a proxy of
// a group in a listener action: the group owns its proxies' listeners, so
// a member has none of its own to create, change, delete or list.
func (o owner) refuseMember(action string) error {
	if o.proxy != nil && o.proxy.GroupID != "" {
		return apierr.New(memberCode(action), "ProxyId: the proxy %s belongs to the proxy group %s, which owns its listeners; give GroupId", o.proxy.ID, o.proxy.GroupID)
	}
	return nil
}

// refuseMemberID is refuseMember for a ProxyId not loaded yet; an unknown
// proxy is left to the action's own checks.
func refuseMemberID(tx *resource.Tx, action, proxyID string) error {
	if proxyID == "" {
		return nil
	}
	o, err := ownerByID(tx, proxyID, "")
	if apierr.Is(err, apierr.ResourceNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return o.refuseMember(action)
}

// memberCode is the code refusing, in action, a proxy of a group where
// only an independent proxy is allowed (its group owns its listeners,
// policy and project): FailedOperation.NotSupportProxyGroup ("该操作不支持通道组")
// where the action's error list names it (CreateHTTPListener,
// ModifyHTTPListenerAttribute, DescribeHTTP(S)Listeners), else
// InvalidParameterValue (the other listener actions, CreateSecurityPolicy,
// ModifyProxiesProject): clients branch on the documented codes.
func memberCode(action string) apierr.Code {
	return listedCode(action, apierr.FailedOperationNotSupportProxyGroup, apierr.InvalidParameterValue)
}

// conflictCode is the code refusing, in action, parameters that exclude
// each other (ProxyId with GroupId, ClientCertificateId with
// PolyClientCertificateIds): InvalidParameter.ConflictParameters where the
// action's error list names it, else InvalidParameter, which every
// listener and proxy action lists. Only SetTlsVersion names the precise
// code; clients branch on the documented codes.
func conflictCode(action string) apierr.Code {
	return listedCode(action, apierr.InvalidParameterConflictParameters, apierr.InvalidParameter)
}

// listedCode is the first of codes that action's error list (the action
// table generated from the reference) names, else the last: clients branch
// on the codes an action documents.
func listedCode(action string, codes ...apierr.Code) apierr.Code {
	for _, c := range codes {
		if slices.Contains(gaapapi.Actions[action].Errors, c) {
			return c
		}
	}
	return codes[len(codes)-1]
}

// notRunningCode is the code action answers for a change refused because
// the proxy or group it concerns is not running (or is being destroyed):
// code (FailedOperation.ProxyStatusNotInRuning or GroupStatusNotInRuning)
// where the action's error list names it, else the generic
// FailedOperation.InstanceStatusNotInRuning, else ResourceUnavailable,
// else FailedOperation, whichever the list names first.
func notRunningCode(action string, code apierr.Code) apierr.Code {
	return listedCode(action, code, apierr.FailedOperationInstanceStatusNotInRuning,
		apierr.ResourceUnavailable, apierr.FailedOperation)
}

// checkIdle refuses a change to a listener that is not running
// (Listener.CheckIdle) with codes action lists: one with a change in
// flight FailedOperation.ListenerHasTask, one being deleted
// FailedOperation.ListenerStatusError, each where the list names it, else
// the other (ModifyHTTPListenerAttribute names only ListenerStatusError),
// else ResourceUnavailable (SetTlsVersion names neither), else
// FailedOperation. One the data plane cannot serve takes changes
// (Listener.CheckIdle), as DeleteListeners takes it.
func (s *Service) checkIdle(action string, l *model.Listener) error {
	return l.CheckIdle(
		listedCode(action, apierr.FailedOperationListenerHasTask, apierr.FailedOperationListenerStatusError,
			apierr.ResourceUnavailable, apierr.FailedOperation),
		listedCode(action, apierr.FailedOperationListenerStatusError, apierr.FailedOperationListenerHasTask,
			apierr.ResourceUnavailable, apierr.FailedOperation),
		s.down(l.ID))
}

// portClash returns the listener among others that uses l's port on the
// same transport protocol, if any.
func portClash(others []*model.Listener, l *model.Listener) *model.Listener {
	for _, o := range others {
		if o.Port == l.Port && ((o.UsesTCPPort() && l.UsesTCPPort()) || (o.UsesUDPPort() && l.UsesUDPPort())) {
			return o
		}
	}
	return nil
}

// listenerOf loads a listener of the given protocols and, when ownerID is
// not empty, checks that it belongs to that proxy or group.
func listenerOf(tx *resource.Tx, id, ownerID string, protocols ...string) (*model.Listener, error) {
	l, err := resource.Get[model.Listener](tx, id)
	if err != nil {
		return nil, err
	}
	if len(protocols) > 0 && !slices.Contains(protocols, l.Protocol) {
		return nil, apierr.New(apierr.InvalidParameterValue, "ListenerId: %s is a %s listener; this action applies to %v listeners", id, l.Protocol, protocols)
	}
	if ownerID != "" && l.Owner() != ownerID {
		return nil, apierr.New(apierr.InvalidParameterValue, "ListenerId: %s does not belong to %s", id, ownerID)
	}
	return l, nil
}

// portParam names element i of an array parameter for messages.
func portParam(name string, i int) string { return fmt.Sprintf("%s.%d", name, i) }
