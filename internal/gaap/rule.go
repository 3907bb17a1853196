package gaap

import (
	"cmp"
	"context"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
)

// CreateRule adds a forwarding rule (a path) to a domain of an HTTP or
// HTTPS listener. The rule starts with no origins (BindRuleRealServers).
func (s *Service) CreateRule(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateRuleRequest) (*gaapapi.CreateRuleResponse, error) {
	host := l7Host(*req.Domain)
	r := &model.Rule{Base: model.Base{ID: model.NewID(model.PrefixRule)}, ListenerID: trimmed(req.ListenerId), Domain: host,
		DomainAsGiven: strings.TrimSpace(*req.Domain),
		Path:          *req.Path, RealServerType: *req.RealServerType, Scheduler: *req.Scheduler, HealthCheck: *req.HealthCheck,
		Status: model.StatusCreating, ForwardProtocol: orDefault(req.ForwardProtocol, "default"),
		ForwardHost: orDefault(req.ForwardHost, "default"), ServerNameIndication: trimmed(req.ServerNameIndication),
		ServerNameIndicationSwitch: orDefault(req.ServerNameIndicationSwitch, "OFF"), ForcedRedirect: trimmed(req.ForcedRedirect)}
	check, err := checkParamsIn(model.DefaultCheck(host), req.CheckParams, false)
	if err != nil {
		return nil, err
	}
	r.Check = check
	err = s.update(ctx, call, func(tx *resource.Tx) error {
		l, err := s.operableL7ListenerParam(tx, &r.ListenerID)
		if err != nil {
			return err
		}
		// The domain first: the default check's Domain is the rule's,
		// and a name the listener lacks is ResourceNotFound, not a
		// CheckParams.Domain the caller never sent.
		if _, err := liveDomain(tx, l.ID, host); err != nil {
			return err
		}
		if err := validateNewRule(r); err != nil {
			return err
		}
		siblings, err := domainRules(tx, l.ID, host)
		if err != nil {
			return err
		}
		if len(siblings) >= model.MaxRulesPerDomain {
			return apierr.New(apierr.FailedOperationLimitNumofRules, "domain %q of listener %s already has %d rules, the maximum", host, l.ID, model.MaxRulesPerDomain)
		}
		if err := checkPathFree(siblings, r); err != nil {
			return err
		}
		if err := tx.Insert(r); err != nil {
			return err
		}
		return startL7Task(tx, l.ID, r.ID)
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateRuleResponse{RuleId: &r.ID}, nil
}

// ModifyRuleAttribute changes the scheduler, health check, path and
// forwarding options of a rule; absent parameters are kept.
func (s *Service) ModifyRuleAttribute(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyRuleAttributeRequest) (*gaapapi.ModifyRuleAttributeResponse, error) {
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		_, r, err := s.changeableRule(tx, req.ListenerId, req.RuleId)
		if err != nil {
			return err
		}
		if err := applyRuleChanges(r, req); err != nil {
			return err
		}
		siblings, err := domainRules(tx, r.ListenerID, r.Domain)
		if err != nil {
			return err
		}
		if err := checkPathFree(siblings, r); err != nil {
			return err
		}
		return changeRule(tx, r, model.StatusAdjusting)
	})
	return &gaapapi.ModifyRuleAttributeResponse{}, err
}

// applyRuleChanges overlays the present parameters of req onto r and
// validates the result; a stored ForcedRedirect or ServerNameIndication is
// checked only when req sets it (model.ValidateForcedRedirect,
// model.ValidateSNI).
func applyRuleChanges(r *model.Rule, req *gaapapi.ModifyRuleAttributeRequest) error {
	overlayStr(&r.Scheduler, req.Scheduler)
	overlayStr(&r.Path, req.Path)
	if req.ForwardProtocol != nil {
		r.ForwardProtocol = orDefault(req.ForwardProtocol, "default")
	}
	if req.ForwardHost != nil {
		r.ForwardHost = orDefault(req.ForwardHost, "default")
	}
	if req.ServerNameIndicationSwitch != nil {
		r.ServerNameIndicationSwitch = orDefault(req.ServerNameIndicationSwitch, "OFF")
	}
	overlayStr(&r.ServerNameIndication, req.ServerNameIndication)
	overlayStr(&r.ForcedRedirect, req.ForcedRedirect)
	if req.HealthCheck != nil {
		r.HealthCheck = *req.HealthCheck
	}
	if r.ServerNameIndicationSwitch == "OFF" && req.ServerNameIndication == nil {
		r.ServerNameIndication = ""
	}
	check, err := checkParamsIn(r.Check, req.CheckParams, true)
	if err != nil {
		return err
	}
	r.Check = check
	if req.ForcedRedirect != nil {
		if err := model.ValidateForcedRedirect(r.ForcedRedirect); err != nil {
			return err
		}
	}
	if req.ServerNameIndication != nil {
		if err := model.ValidateSNI(r.ServerNameIndication); err != nil {
			return err
		}
	}
	return model.ValidateRule(r)
}

// orDefault reads ForwardHost, ForwardProtocol ("default") and
// ServerNameIndicationSwitch ("OFF"): empty means the default on
// modification as on creation, so the same value gives the same rule.
func orDefault(v *string, def string) string { return cmp.Or(trimmed(v), def) }

// DeleteRule deletes a rule; without Force it refuses while origins are
// bound.
func (s *Service) DeleteRule(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteRuleRequest) (*gaapapi.DeleteRuleResponse, error) {
	if f := *req.Force; f != 0 && f != 1 {
		return nil, cloudapi.Invalid("Force", "must be 0 or 1, not %d", f)
	}
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		_, r, err := s.changeableRule(tx, req.ListenerId, req.RuleId)
		if err != nil {
			return err
		}
		if *req.Force == 0 && len(r.Bindings) > 0 {
			return apierr.New(apierr.FailedOperationRealServerAlreadyBound, "rule %s has %d origins bound; unbind them or pass Force=1", r.ID, len(r.Bindings))
		}
		// Done once the rule is gone, served or not: no wait for its
		// listener (startL7Task).
		r.Status = model.StatusDeleting
		if err := tx.Put(r); err != nil {
			return err
		}
		_, err = tx.StartTask(r.ID)
		return err
	})
	return &gaapapi.DeleteRuleResponse{}, err
}

// changeRule stores a change to the rule r, which applies asynchronously:
// r has status until the data plane has it, and the call's task waits for
// it and its listener (startL7Task).
func changeRule(tx *resource.Tx, r *model.Rule, status int64) error {
	r.Status = status
	if err := tx.Put(r); err != nil {
		return err
	}
	return startL7Task(tx, r.ListenerID, r.ID)
}

// changeableRule loads a running rule of an operable listener. A rule of
// another listener is ResourceNotFound, as if it did not exist.
func (s *Service) changeableRule(tx *resource.Tx, listenerID, ruleID *string) (*model.Listener, *model.Rule, error) {
	r, err := ruleParam(tx, ruleID)
	if err != nil {
		return nil, nil, err
	}
	if listenerID != nil {
		lid, err := idParam("ListenerId", listenerID)
		if err != nil {
			return nil, nil, err
		}
		if r.ListenerID != lid {
			return nil, nil, apierr.New(apierr.ResourceNotFound, "listener %s has no rule %s", lid, r.ID)
		}
	}
	l, err := s.operableL7Listener(tx, r.ListenerID)
	if err != nil {
		return nil, nil, err
	}
	// A domain being deleted takes its rules along: that, not a busy rule
	// to retry, is why they cannot change.
	if _, err := liveDomain(tx, l.ID, r.Domain); err != nil {
		return nil, nil, err
	}
	if r.Status != model.StatusRunning {
		return nil, nil, apierr.New(listedCode(tx.Action, apierr.FailedOperationListenerHasTask, apierr.FailedOperation), "rule %s is busy with another change (status %d); retry when it is running", r.ID, r.Status)
	}
	return l, r, nil
}

// ruleParam loads the rule a request's RuleId names.
func ruleParam(tx *resource.Tx, p *string) (*model.Rule, error) {
	id, err := idParam("RuleId", p)
	if err != nil {
		return nil, err
	}
	return resource.Get[model.Rule](tx, id)
}

// checkPathFree refuses a second live rule with r's path on its domain,
// compared as routed: "/caf%C3%A9" and "/café" would be one rule twice.
func checkPathFree(siblings []*model.Rule, r *model.Rule) error {
	for _, o := range siblings {
		if o.ID != r.ID && model.RoutePath(o.Path) == model.RoutePath(r.Path) && o.Status != model.StatusDeleting {
			return apierr.New(apierr.FailedOperationRuleAlreadyExisted, "domain %q already has rule %s for the path %q", r.Domain, o.ID, r.Path)
		}
	}
	return nil
}

// checkParamsIn overlays the present fields of in onto base. The check
// domain cannot be changed by ModifyRuleAttribute (as documented), nor be a
// wildcard: a check asks one host (model.CheckHost).
func checkParamsIn(base model.CheckParams, in *gaapapi.RuleCheckParams, modify bool) (model.CheckParams, error) {
	if in == nil {
		return base, nil
	}
	if modify && in.Domain != nil && !strings.EqualFold(*in.Domain, base.Domain) { // Names compare without case.
		return base, cloudapi.Invalid("CheckParams.Domain", "cannot be changed by ModifyRuleAttribute")
	}
	if !modify && in.Domain != nil && strings.HasPrefix(*in.Domain, "*.") {
		return base, cloudapi.Invalid("CheckParams.Domain", "%q is a wildcard: a check asks one host, so give a host name the origins serve (as CLB asks of a wildcard domain's checks)", *in.Domain)
	}
	c := base
	overlayInt(&c.DelayLoop, in.DelayLoop)
	overlayInt(&c.ConnectTimeout, in.ConnectTimeout)
	overlayStr(&c.Path, in.Path)
	overlayStr(&c.Method, in.Method)
	overlayStr(&c.Domain, in.Domain)
	overlayInt(&c.FailedCountInter, in.FailedCountInter)
	overlayInt(&c.FailedThreshold, in.FailedThreshold)
	overlayInt(&c.BlockInter, in.BlockInter)
	if in.StatusCode != nil {
		c.StatusCode = in.StatusCode
	}
	return c, nil
}

func overlayStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func overlayInt(dst *int64, v *int64) {
	if v != nil {
		*dst = *v
	}
}

// validateNewRule checks what CreateRule takes apart from the stored state.
func validateNewRule(r *model.Rule) error {
	if err := model.ValidateRule(r); err != nil {
		return err
	}
	if err := model.ValidateForcedRedirect(r.ForcedRedirect); err != nil {
		return err
	}
	return model.ValidateSNI(r.ServerNameIndication)
}
