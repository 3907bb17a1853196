package model

import (
	"regexp"

	"github.com/opengaap/opengaap/internal/apierr"
)

// proxyNamePattern: 1-30 characters of letters, digits, CJK, '-' and '_',
// the console's rule for proxy and group names.
var proxyNamePattern = regexp.MustCompile(`^[\p{Han}A-Za-z0-9_.-]{1,30}$`)

// ValidateName checks a proxy or group name.
func ValidateName(param, name string) error {
	if !proxyNamePattern.MatchString(name) {
		return apierr.New(apierr.InvalidParameterValue, "%s %q must be 1-30 letters, digits, Chinese characters, '-', '_' or '.'", param, name)
	}
	return nil
}

// ValidateNewProxy checks the documented enums and ranges of a proxy to create.
func ValidateNewProxy(p *Proxy) error {
	if err := ValidateName("ProxyName", p.Name); err != nil {
		return err
	}
	switch {
	case p.ProjectID < 0:
		return apierr.New(apierr.InvalidParameterValue, "ProjectId must be 0 (default project) or a project ID")
	case p.AccessRegion == "":
		return apierr.New(apierr.InvalidParameterValue, "AccessRegion must name an access region (see DescribeAccessRegions)")
	case p.RealServerRegion == "":
		return apierr.New(apierr.MissingParameter, "RealServerRegion is required when GroupId is not given")
	case p.Bandwidth <= 0:
		return apierr.New(apierr.InvalidParameterValueInvalidBandwidth, "Bandwidth must be a positive number of Mbps")
	case p.Concurrent <= 0:
		return apierr.New(apierr.InvalidParameterValueInvalidConcurrency, "Concurrent must be a positive number of 10,000 connections")
	case p.BillingType != 0 && p.BillingType != 1:
		return apierr.New(apierr.InvalidParameterValue, "BillingType must be 0 (bandwidth) or 1 (traffic)")
	}
	return nil // The enumerations are checked, whatever their case, with the catalogue (gaap.checkNewProxy).
}
