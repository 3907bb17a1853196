// Package gaapapi holds the generated wire types and action table of GAAP
// 2018-05-29. Only gen.go is written by hand.
package gaapapi

// -optional lists the parameters the reference marks required that the
// service accepts absent, each explained in docs/:
//   - ModifyGlobalDomainDns ProxyIdList, NationCountryInnerCodes: an absent
//     list is kept (at least one is needed), as Terraform's provider sends
//     only the one that changed (docs/api-misc.md).
//
//go:generate go run ../../cloudapi/specgen -mode api -pkg gaapapi -optional ModifyGlobalDomainDns.ProxyIdList,ModifyGlobalDomainDns.NationCountryInnerCodes -out zz_generated_api.go ../../../spec/gaap-2018-05-29.json
