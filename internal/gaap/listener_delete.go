package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// DeleteListeners deletes listeners of one proxy or group. Each ID lands,
// once however often it is given, in one of three lists: succeeded (now status 2, removed with its
// domains and rules once the data plane dropped it), failed (a change
// other than its creation in flight) or invalid (unknown or of another owner). Without
// Force, a listener with origins bound refuses the whole call.
func (s *Service) DeleteListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteListenersRequest) (*gaapapi.DeleteListenersResponse, error) {
	if err := model.CheckSwitch("Force", *req.Force); err != nil {
		return nil, err
	}
	if len(req.ListenerIds) == 0 {
		return nil, cloudapi.Missing("ListenerIds")
	}
	resp := &gaapapi.DeleteListenersResponse{
		OperationFailedListenerSet: []string{}, OperationSucceedListenerSet: []string{}, InvalidStatusListenerSet: []string{},
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		o, err := loadOwner(tx, req.ProxyId, req.GroupId)
		if err != nil {
			return err
		}
		if err := o.refuseMember(call.Action); err != nil {
			return err
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		var doomed []*model.Listener
		// One listener, listed (and deleted) once.
		for _, id := range cloudapi.UniqueInOrder(req.ListenerIds) {
			l, err := listenerOf(tx, id, o.id())
			switch {
			case err != nil:
				resp.InvalidStatusListenerSet = append(resp.InvalidStatusListenerSet, id)
			case l.Status != model.StatusRunning && l.Status != model.StatusCreating && !s.down(l.ID):
				// Creating is deletable: a listener whose port is taken
				// stays in creation (its task FAIL) until deleted. So is
				// any the data plane cannot serve (a port taken after a
				// reopen, and a change waiting on it), whatever it was
				// doing: its change would otherwise never settle, and
				// the listener could be neither used nor deleted.
				resp.OperationFailedListenerSet = append(resp.OperationFailedListenerSet, id)
			default:
				doomed = append(doomed, l)
			}
		}
		return markDeleting(tx, doomed, *req.Force == 1, &resp.OperationSucceedListenerSet)
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// markDeleting puts listeners in status 2, refusing without force any that
// has origins bound, and appends their IDs to done.
func markDeleting(tx *resource.Tx, ls []*model.Listener, force bool, done *[]string) error {
	for _, l := range ls {
		if force {
			break
		}
		bound, err := listenerHasOrigins(tx, l)
		if err != nil {
			return err
		}
		if bound {
			return apierr.New(apierr.FailedOperationRealServerAlreadyBound, "listener %s has origins bound; unbind them first or pass Force=1", l.ID)
		}
	}
	for _, l := range ls {
		l.Status = model.StatusDeleting
		if err := tx.Put(l); err != nil {
			return err
		}
		*done = append(*done, l.ID)
	}
	if len(*done) == 0 {
		return nil
	}
	_, err := tx.StartTask(*done...)
	return err
}

// listenerHasOrigins reports whether origins are bound to the listener
// directly (TCP/UDP) or through its rules (HTTP/HTTPS).
func listenerHasOrigins(tx *resource.Tx, l *model.Listener) (bool, error) {
	if !l.IsL7() {
		return len(l.Bindings) > 0, nil
	}
	rules, err := resource.Children[model.Rule](tx, l.ID)
	for _, r := range rules {
		if len(r.Bindings) > 0 {
			return true, err
		}
	}
	return false, err
}
