package gaap

import (
	"context"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateTCPListeners creates one TCP listener per port, all with the same
// settings. They are created (status 1) until the data plane opens them.
func (s *Service) CreateTCPListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateTCPListenersRequest) (*gaapapi.CreateTCPListenersResponse, error) {
	ids, err := s.createL4(ctx, call, l4Create{
		protocol: model.TCP, name: *req.ListenerName,
		ports: req.Ports, realServerPorts: req.RealServerPorts, proxyID: req.ProxyId, groupID: req.GroupId,
		params: model.L4Params{
			Scheduler: req.Scheduler, RealServerType: req.RealServerType, HealthCheck: req.HealthCheck,
			DelayLoop: req.DelayLoop, ConnectTimeout: req.ConnectTimeout,
			HealthyThreshold: req.HealthyThreshold, UnhealthyThreshold: req.UnhealthyThreshold,
			FailoverSwitch: req.FailoverSwitch, ClientIPMethod: req.ClientIPMethod,
		},
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateTCPListenersResponse{ListenerIds: ids}, nil
}

// CreateUDPListeners creates one UDP listener per port. UDP listeners have
// no ClientIPMethod parameter: origins see the proxy's address.
func (s *Service) CreateUDPListeners(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateUDPListenersRequest) (*gaapapi.CreateUDPListenersResponse, error) {
	ids, err := s.createL4(ctx, call, l4Create{
		protocol: model.UDP, name: *req.ListenerName,
		ports: req.Ports, realServerPorts: req.RealServerPorts, proxyID: req.ProxyId, groupID: req.GroupId,
		params: model.L4Params{
			Scheduler: req.Scheduler, RealServerType: req.RealServerType, HealthCheck: req.HealthCheck,
			DelayLoop: req.DelayLoop, ConnectTimeout: req.ConnectTimeout,
			HealthyThreshold: req.HealthyThreshold, UnhealthyThreshold: req.UnhealthyThreshold,
			FailoverSwitch: req.FailoverSwitch, CheckType: req.CheckType, CheckPort: req.CheckPort,
			ContextType: req.ContextType, SendContext: req.SendContext, RecvContext: req.RecvContext,
		},
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateUDPListenersResponse{ListenerIds: ids}, nil
}

// l4Create is a batch creation of TCP or UDP listeners.
type l4Create struct {
	protocol, name         string
	ports, realServerPorts []int64
	proxyID, groupID       *string
	params                 model.L4Params
}

// createL4 validates the batch, then stores one listener per port.
func (s *Service) createL4(ctx context.Context, call *cloudapi.Call, c l4Create) ([]string, error) {
	proto, err := c.template(s.cfg.Caps)
	if err != nil {
		return nil, err
	}
	fresh := make([]*model.Listener, len(c.ports))
	ids := make([]string, len(c.ports))
	for i, port := range c.ports {
		l := *proto
		l.ID, l.Port = model.NewID(model.PrefixListener), port
		if c.realServerPorts != nil {
			l.RealServerPort = c.realServerPorts[i]
		}
		fresh[i], ids[i] = &l, l.ID
	}
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		o, err := loadOwner(tx, c.proxyID, c.groupID)
		if err != nil {
			return err
		}
		if err := o.checkTOA(c.params.ClientIPMethod); err != nil {
			return err
		}
		if len(c.realServerPorts) > 0 && o.proxy != nil {
			return cloudapi.Invalid("RealServerPorts", "origin ports are set per listener only for proxy-group listeners; for a proxy give RealServerPort when binding origins")
		}
		if err := o.checkRunning(tx); err != nil {
			return err
		}
		for _, l := range fresh {
			o.assign(l)
		}
		if err := o.checkNewListeners(tx, call.Action, fresh); err != nil {
			return err
		}
		return insertListeners(tx, fresh)
	})
	return ids, err
}

// template validates the request's settings once and returns the listener
// every port is copied from; caps: see Config.Caps.
func (c l4Create) template(caps model.Capabilities) (*model.Listener, error) {
	if err := model.CheckName("ListenerName", c.name); err != nil {
		return nil, err
	}
	if err := checkPorts(c.ports); err != nil {
		return nil, err
	}
	if c.realServerPorts != nil && len(c.realServerPorts) != len(c.ports) {
		return nil, cloudapi.Invalid("RealServerPorts", "has %d entries but Ports has %d; give one origin port per listener port", len(c.realServerPorts), len(c.ports))
	}
	for i, p := range c.realServerPorts {
		if err := model.CheckOriginPort(portParam("RealServerPorts", i), p); err != nil {
			return nil, err
		}
	}
	l := model.NewL4Listener(c.protocol)
	l.Name = c.name
	return l, l.ApplyL4(c.params, caps)
}

// checkPorts validates the listener ports of a batch.
func checkPorts(ports []int64) error {
	if len(ports) == 0 {
		return cloudapi.Missing("Ports")
	}
	if len(ports) > model.MaxPortsPerCall {
		return apierr.New(apierr.FailedOperationOperateLimitNumofListener, "Ports: %d ports given; at most %d listeners can be created per call", len(ports), model.MaxPortsPerCall)
	}
	for i, p := range ports {
		if err := model.CheckListenerPort(portParam("Ports", i), p); err != nil {
			return err
		}
		for _, q := range ports[:i] {
			if q == p {
				return apierr.New(apierr.InvalidParameterValueDuplicatedListenerPort, "Ports: %d is listed twice", p)
			}
		}
	}
	return nil
}

// insertListeners stores new listeners and the task that tracks them.
func insertListeners(tx *resource.Tx, fresh []*model.Listener) error {
	ids := make([]string, len(fresh))
	for i, l := range fresh {
		if err := tx.Insert(l); err != nil {
			return err
		}
		ids[i] = l.ID
	}
	_, err := tx.StartTask(ids...)
	return err
}
