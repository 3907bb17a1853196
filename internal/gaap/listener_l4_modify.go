package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// ModifyTCPListenerAttribute changes a TCP listener's name, scheduler,
// health check or failover mode.
func (s *Service) ModifyTCPListenerAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyTCPListenerAttributeRequest) (*gaapapi.ModifyTCPListenerAttributeResponse, error) {
	err := s.modifyL4(ctx, call, l4Modify{
		protocol: model.TCP, listenerID: req.ListenerId,
		proxyID: req.ProxyId, groupID: req.GroupId, name: req.ListenerName,
		params: model.L4Params{
			Scheduler: req.Scheduler, HealthCheck: req.HealthCheck, DelayLoop: req.DelayLoop,
			ConnectTimeout: req.ConnectTimeout, HealthyThreshold: req.HealthyThreshold,
			UnhealthyThreshold: req.UnhealthyThreshold, FailoverSwitch: req.FailoverSwitch,
		},
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyTCPListenerAttributeResponse{}, nil
}

// ModifyUDPListenerAttribute changes a UDP listener's name, scheduler,
// health check (including the UDP probe) or failover mode.
func (s *Service) ModifyUDPListenerAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyUDPListenerAttributeRequest) (*gaapapi.ModifyUDPListenerAttributeResponse, error) {
	err := s.modifyL4(ctx, call, l4Modify{
		protocol: model.UDP, listenerID: req.ListenerId,
		proxyID: req.ProxyId, groupID: req.GroupId, name: req.ListenerName,
		params: model.L4Params{
			Scheduler: req.Scheduler, HealthCheck: req.HealthCheck, DelayLoop: req.DelayLoop,
			ConnectTimeout: req.ConnectTimeout, HealthyThreshold: req.HealthyThreshold,
			UnhealthyThreshold: req.UnhealthyThreshold, FailoverSwitch: req.FailoverSwitch,
			CheckType: req.CheckType, CheckPort: req.CheckPort, ContextType: req.ContextType,
			SendContext: req.SendContext, RecvContext: req.RecvContext,
		},
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyUDPListenerAttributeResponse{}, nil
}

// l4Modify is a change to one TCP or UDP listener.
type l4Modify struct {
	protocol                           string
	listenerID, proxyID, groupID, name *string
	params                             model.L4Params
}

// modifyL4 applies the change. A rename alone takes effect at once; any
// other change puts the listener in status 4 until the data plane has it.
func (s *Service) modifyL4(ctx context.Context, call *cloudapi.Call, m l4Modify) error {
	if m.name != nil {
		if err := model.CheckName("ListenerName", *m.name); err != nil {
			return err
		}
	}
	return s.update(ctx, call, func(tx *resource.Tx) error {
		o, err := loadOwner(tx, m.proxyID, m.groupID)
		if err != nil {
			return err
		}
		if err := o.refuseMember(call.Action); err != nil {
			return err
		}
		l, err := listenerParam(tx, m.listenerID, o.id(), m.protocol)
		if err != nil {
			return err
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		if err := s.checkIdle(call.Action, l); err != nil {
			return err
		}
		if m.name != nil {
			l.Name = *m.name
		}
		if m.params != (model.L4Params{}) {
			if err := l.ApplyL4(m.params, s.cfg.Caps); err != nil {
				return err
			}
			if err := startAdjusting(tx, l); err != nil {
				return err
			}
		}
		return tx.Put(l)
	})
}

// startAdjusting marks a listener as changing configuration (status 4) and
// records the task DescribeTaskStatus follows.
func startAdjusting(tx *resource.Tx, l *model.Listener) error {
	l.Status = model.StatusAdjusting
	_, err := tx.StartTask(l.ID)
	return err
}
